// The control-plane protocol (scheduler.capnp) as plain, validated C++ values.
//
// decodeToScheduler / decodeFromScheduler are the only readers of those
// frames: they check every field (text lengths and characters, endpoint
// schemes, list lengths, enum ranges) before anything uses it, and turn any
// malformed input into MODNN_ERR_INVALID_VALUE with a message.
#pragma once
#include <cstddef>
#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "interpose/core/result.h"
#include "modnn/backend.h"
#include "scheduler.capnp.h"
#include "worker_messages.h"

namespace moai::wire {

constexpr size_t kMaxIdBytes = 256;        // worker ids, user names, device kinds
constexpr size_t kMaxEndpointBytes = 512;  // "tcp://..." or "ipc://..."
constexpr size_t kMaxEndpoints = 16;       // per worker
constexpr size_t kMaxLeaseDevices = 1024;
constexpr size_t kMaxStatusWorkers = 4096;
constexpr size_t kMaxStatusJobs = 65536;
constexpr size_t kTokenHexDigits = 64;     // 32 random bytes
constexpr size_t kCurveKeyChars = 40;      // Z85 of a 32-byte CurveZMQ public key
constexpr size_t kMaxKindAlternatives = 16;  // "h100|a100|..."
constexpr size_t kMaxReasonBytes = 1024;   // why a job waits, what an admin command did
constexpr size_t kMaxUsageRecords = 65536;
constexpr size_t kMaxUsageMinutes = 1 << 18;  // per-minute records in memory and in a `usage` reply
constexpr size_t kMaxJobsPerHeartbeat = 4096;
constexpr size_t kMaxJobsPerDevice = 256;     // sharing one device

// --- to the scheduler ---

struct RegisterMsg {
  std::string worker_id;
  std::vector<std::string> endpoints;       // 1..kMaxEndpoints
  std::vector<modnn_device_props> devices;  // 1..kMaxDevicesPerWorker
  std::string curve_key;                    // "" or kCurveKeyChars of Z85: its tcp:// data port's key
};
struct HeartbeatMsg {
  std::string worker_id;
  std::vector<uint64_t> memory_used;        // per device, bytes; empty = not reported
  std::vector<double> busy_seconds;         // per device, a counter; empty = not reported
  double uptime_seconds = 0;                // the worker's clock for busy_seconds
  std::vector<std::pair<uint64_t, double>> job_busy;  // (job id, device-seconds on this worker), counters
};
struct LeaseRequestMsg {
  uint32_t devices = 0;                     // 1..kMaxLeaseDevices
  std::string kind;                         // "" = any
  std::string user;
  schema::Placement placement = schema::Placement::UNSET;
  uint64_t min_memory_per_device = 0;       // bytes; 0 = any
  bool shareable = false;                   // may share devices with other shareable jobs
  int32_t priority = 0;                     // higher first
  uint32_t time_limit_s = 0;                // 0 = none
  uint64_t predicted_memory = 0;            // bytes per device at the peak; 0 = unknown
  uint32_t share_weight = 1;                // >= 1 (0 on the wire reads as 1)
};
struct KeepaliveMsg { uint64_t job_id = 0; };
struct ReleaseMsg { uint64_t job_id = 0; };
struct StatusRequestMsg {};
struct CancelMsg { uint64_t job_id = 0; };
struct DrainMsg { std::string worker_id; bool drain = true; };  // false: undrain
struct ResizeMsg { uint64_t job_id = 0; uint32_t devices = 0; };  // devices: 1..kMaxLeaseDevices
struct ResizedMsg { uint64_t job_id = 0; };
struct UsageRequestMsg {};
struct MemoryReportMsg { uint64_t job_id = 0; uint64_t predicted_peak = 0; uint64_t peak_allocated = 0; };

using ToSchedulerMsg = std::variant<RegisterMsg, HeartbeatMsg, LeaseRequestMsg, KeepaliveMsg, ReleaseMsg,
                                    StatusRequestMsg, CancelMsg, DrainMsg, ResizeMsg, ResizedMsg, UsageRequestMsg,
                                    MemoryReportMsg>;

// "h100|a100" -> {"h100", "a100"}; "" -> {} (any kind).
std::vector<std::string> kindAlternatives(const std::string& kind);

// --- from the scheduler ---

struct LeasedDeviceEntry {
  std::string worker_id;
  std::vector<std::string> endpoints;
  uint32_t index = 0;                       // device index on that worker
  std::string curve_key;                    // "" = plain tcp
  bool operator==(const LeasedDeviceEntry&) const = default;
};
struct LeaseEntry {
  uint64_t job_id = 0;                      // never 0
  std::string token;                        // kTokenHexDigits lower-case hex; "" in a status
  std::vector<LeasedDeviceEntry> devices;   // 1..kMaxLeaseDevices
  uint64_t memory_quota = 0;                // bytes per device; 0 = whole devices
  uint32_t share_weight = 1;                // >= 1
};
struct DeviceStatusEntry {
  uint32_t index = 0;
  std::array<uint8_t, 16> uuid{};
  std::string kind;
  std::string name;
  uint64_t total_memory = 0;
  uint64_t job_id = 0;                      // 0 = free; shared: its first job
  std::vector<uint64_t> sharers;            // shared: every job on it
  uint64_t reserved_memory = 0;             // shared: their quotas together
};
struct WorkerStatusEntry {
  std::string worker_id;
  bool alive = false;
  uint32_t devices = 0;
  uint32_t leased = 0;
  bool draining = false;
  std::vector<DeviceStatusEntry> device_list;  // empty or one per device
};
struct JobStatusEntry {
  uint64_t job_id = 0;
  std::string user;
  bool running = false;
  LeaseRequestMsg request;
  double submit_time = 0;                   // Unix seconds
  double start_time = 0;                    // 0 while queued
  uint32_t position = 0;                    // 1 = next; 0 when running
  std::string reason;
  uint32_t devices = 0;                     // leased now
  bool resize_pending = false;
  uint64_t memory_quota = 0;                // per device while sharing; 0 = whole devices
  uint64_t peak_allocated = 0;              // per device, as the client reports it
};
struct UsageEntry {
  uint64_t job_id = 0;
  std::string user;
  uint32_t devices = 0;
  double submit_time = 0, start_time = 0;
  double end_time = 0;                      // 0 while running
  double leased_device_seconds = 0;
  double busy_seconds = -1;                 // < 0: not metered
  std::string end_reason;
  double cost = 0;                          // busy device-minutes x price, summed over its minutes
};
// One job's usage in one wall-clock minute on devices of one kind.
struct UsageMinuteEntry {
  uint64_t job_id = 0;
  int64_t minute_start = 0;                 // Unix seconds, a multiple of 60
  std::string kind;
  double leased_device_seconds = 0;
  double busy_seconds = 0;                  // reported by heartbeats that arrived in this minute
  double cost = 0;
};

struct RegisteredMsg {};
struct LeaseMsg { LeaseEntry lease; };      // to the client that asked
struct GrantMsg { LeaseEntry lease; };      // to each worker of the lease
struct RevokeMsg { uint64_t job_id = 0; };
struct StatusMsg {
  std::vector<WorkerStatusEntry> workers;
  std::vector<LeaseEntry> jobs;             // running jobs' leases
  std::vector<JobStatusEntry> queue;        // every job: queued ones in queue order, then running
};
struct ReleasedMsg { uint64_t job_id = 0; };
struct QueuedMsg { uint64_t job_id = 0; uint32_t position = 0; std::string reason; };
struct LeaseChangedMsg { LeaseEntry lease; };  // to the client after a resize
struct DropDevicesMsg { uint64_t job_id = 0; std::vector<uint32_t> indices; };  // 1..kMaxDevicesPerWorker
struct OkMsg { std::string message; };
struct UsageMsg {
  std::vector<UsageEntry> records;
  std::vector<UsageMinuteEntry> minutes;    // by job, minute, kind; those the scheduler holds in memory
};
struct QuotaMsg { uint64_t job_id = 0; uint64_t bytes = 0; };

using FromSchedulerMsg = std::variant<RegisteredMsg, LeaseMsg, GrantMsg, RevokeMsg, ErrorMsg, StatusMsg, ReleasedMsg,
                                      QueuedMsg, LeaseChangedMsg, DropDevicesMsg, OkMsg, UsageMsg, QuotaMsg>;

Result<ToSchedulerMsg> decodeToScheduler(const void* data, size_t size);
Result<FromSchedulerMsg> decodeFromScheduler(const void* data, size_t size);

std::vector<uint8_t> encodeToScheduler(const ToSchedulerMsg& m);
std::vector<uint8_t> encodeFromScheduler(const FromSchedulerMsg& m);

}  // namespace moai::wire

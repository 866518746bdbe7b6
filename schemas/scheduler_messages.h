// The control-plane protocol (scheduler.capnp) as plain, validated C++ values.
//
// decodeToScheduler / decodeFromScheduler are the only readers of those
// frames: they check every field (text lengths and characters, endpoint
// schemes, list lengths, enum ranges) before anything uses it, and turn any
// malformed input into MODNN_ERR_INVALID_VALUE with a message.
#pragma once
#include <cstddef>
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
};
struct LeaseRequestMsg {
  uint32_t devices = 0;                     // 1..kMaxLeaseDevices
  std::string kind;                         // "" = any
  std::string user;
  schema::Placement placement = schema::Placement::UNSET;
};
struct KeepaliveMsg { uint64_t job_id = 0; };
struct ReleaseMsg { uint64_t job_id = 0; };
struct StatusRequestMsg {};

using ToSchedulerMsg =
    std::variant<RegisterMsg, HeartbeatMsg, LeaseRequestMsg, KeepaliveMsg, ReleaseMsg, StatusRequestMsg>;

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
};
struct WorkerStatusEntry {
  std::string worker_id;
  bool alive = false;
  uint32_t devices = 0;
  uint32_t leased = 0;
};

struct RegisteredMsg {};
struct LeaseMsg { LeaseEntry lease; };      // to the client that asked
struct GrantMsg { LeaseEntry lease; };      // to each worker of the lease
struct RevokeMsg { uint64_t job_id = 0; };
struct StatusMsg {
  std::vector<WorkerStatusEntry> workers;
  std::vector<LeaseEntry> jobs;
};
struct ReleasedMsg { uint64_t job_id = 0; };

using FromSchedulerMsg =
    std::variant<RegisteredMsg, LeaseMsg, GrantMsg, RevokeMsg, ErrorMsg, StatusMsg, ReleasedMsg>;

Result<ToSchedulerMsg> decodeToScheduler(const void* data, size_t size);
Result<FromSchedulerMsg> decodeFromScheduler(const void* data, size_t size);

std::vector<uint8_t> encodeToScheduler(const ToSchedulerMsg& m);
std::vector<uint8_t> encodeFromScheduler(const FromSchedulerMsg& m);

}  // namespace moai::wire

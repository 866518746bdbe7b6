// One picture of the cluster, as moai-top shows it: plain values, no I/O.
//
// Optional fields are what a scheduler may not report (no /metrics, a worker
// that has not sent two heartbeats yet, no queue): the views print "-" for
// them rather than a guess.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moai::top {

struct WorkerRow {
  std::string id;
  bool alive = false;
  uint32_t devices = 0;
  uint32_t leased = 0;
  std::optional<double> heartbeat_age;   // seconds, from /metrics
};

struct DeviceRow {
  std::string worker;
  uint32_t index = 0;                    // on its worker
  std::string uuid;                      // "GPU-..." (from /metrics), "" when unknown
  std::string kind;                      // "cpu", "cuda", ...; "" when unknown
  std::string model;
  std::optional<double> utilization;     // percent
  std::optional<uint64_t> memory_used;   // MiB
  std::optional<uint64_t> memory_total;  // MiB
  std::vector<uint64_t> jobs;            // jobs holding it
};

struct JobDevice {
  std::string worker;
  uint32_t index = 0;
  bool operator==(const JobDevice&) const = default;
};

struct JobRow {
  uint64_t id = 0;
  std::string user;                      // "" when unknown (no /metrics)
  std::string state = "running";         // or "queued #N" (its position)
  std::vector<JobDevice> devices;
  std::optional<double> lease_seconds;
  std::optional<double> busy_seconds;
  std::optional<double> queue_seconds;
  std::optional<uint64_t> memory_used;   // MiB on its devices; none while a device is shared or unreported
};

struct Snapshot {
  std::vector<WorkerRow> workers;
  std::vector<DeviceRow> devices;
  std::vector<JobRow> jobs;
  std::optional<uint32_t> jobs_queued;   // none when the scheduler does not report its queue
  std::optional<double> cost_per_hour;   // none until devices carry prices
  bool has_metrics = false;              // /metrics answered for this snapshot
};

}  // namespace moai::top

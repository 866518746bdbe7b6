// What moai-sched shows at /metrics, and its Prometheus text exposition
// (format 0.0.4).
//
// Device gauges use DCGM's names, units and labels (gpu, UUID, device,
// modelName, Hostname), so Grafana dashboards written for NVIDIA's
// dcgm-exporter work unchanged; Hostname is the worker id. Everything else
// is moai_*. The scheduler loop fills a snapshot; rendering needs nothing else.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modnn/backend.h"

namespace moai::sched {

struct DeviceSample {
  std::string worker_id;
  uint32_t index = 0;                    // on its worker
  modnn_device_props props{};
  std::optional<uint64_t> memory_used;   // bytes its jobs hold, when the worker reports it
  std::optional<double> utilization;     // percent busy between the worker's last two reports
  uint64_t job_id = 0;                   // leasing job, 0 = free
};

struct WorkerSample {
  std::string worker_id;
  bool alive = false;
  double seconds_since_heartbeat = 0;
};

struct JobSample {
  uint64_t job_id = 0;
  std::string user;
  uint32_t devices = 0;
  uint32_t workers = 0;
  double queue_seconds = 0;              // waited before its lease
  double lease_seconds = 0;              // since its lease was granted
  double busy_seconds = 0;               // device-seconds its work ran (workers meter it)
};

struct MetricsSnapshot {
  std::vector<WorkerSample> workers;
  std::vector<DeviceSample> devices;
  std::vector<JobSample> jobs;
  uint64_t refused_peers = 0;            // Curve keys the ZAP handler refused
};

// NVIDIA's UUID text form ("GPU-" then 8-4-4-4-12 hex digits) of a device uuid.
std::string deviceUuid(const uint8_t (&uuid)[16]);
std::string renderMetrics(const MetricsSnapshot& snapshot);

}  // namespace moai::sched

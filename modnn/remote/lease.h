// Lease: the devices a job may use, and the token that opens them.
//
// From moai-sched (MOAI_SCHEDULER): requested at start-up, kept alive by a
// background keepalive, released when the last device closes or the process
// exits. Or from a worker named directly (MOAI_WORKER + MOAI_WORKER_TOKEN),
// for tests and benchmarks without a scheduler.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "interpose/core/result.h"
#include "modnn/backend.h"

namespace moai::remote {

struct LeasedDevice {
  std::string worker_id;
  std::vector<std::string> endpoints;
  uint32_t index = 0;  // on that worker
  std::string curve_key;  // the worker's tcp:// Curve public key; "" = plain
};

struct Lease {
  uint64_t job_id = 0;
  std::string token;
  std::vector<LeasedDevice> devices;
  std::string scheduler;  // "" when the worker was named directly
  ~Lease();

  std::atomic<bool> stop{false};
  std::thread keepalive;

  // A resize (scheduler_client.h: takeLeaseChange, confirmResize); guarded
  // by `change_mu`, filled by the keepalive thread.
  std::mutex change_mu;
  std::optional<std::vector<LeasedDevice>> changed;  // the whole new device list
  std::atomic<bool> confirm{false};                  // the keepalive thread sends `resized`

  // Memory: the client's forecast, which the keepalive thread reports when
  // it changes, and the quota the scheduler set for a shared lease.
  std::atomic<uint64_t> predicted_peak{0}, peak_allocated{0};
  std::atomic<uint64_t> memory_quota{0};  // bytes per device; 0 = whole devices
};

Result<std::shared_ptr<Lease>> acquireLease(const modnn_backend_config& config);

}  // namespace moai::remote

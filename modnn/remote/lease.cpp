#include "modnn/remote/lease.h"

#include <random>

#include "modnn/remote/scheduler_client.h"

namespace moai::remote {

Lease::~Lease() {
  stop = true;
  if (keepalive.joinable()) keepalive.join();
  if (!scheduler.empty()) releaseLease(scheduler, job_id);
}

Result<std::shared_ptr<Lease>> acquireLease(const modnn_backend_config& config) {
  int wanted = std::max(1, config.device_count);
  if (config.worker && *config.worker) {
    auto lease = std::make_shared<Lease>();
    std::random_device rd;
    lease->job_id = (uint64_t(rd()) << 32) | rd();
    lease->token = config.worker_token ? config.worker_token : "";
    for (int i = 0; i < wanted; ++i)
      lease->devices.push_back(LeasedDevice{config.worker, {config.worker}, uint32_t(i)});
    return lease;
  }
  if (!config.scheduler || !*config.scheduler)
    return makeError(MODNN_ERR_INVALID_VALUE, "neither MOAI_SCHEDULER nor MOAI_WORKER is set");
  return requestLease(config.scheduler, uint32_t(wanted), config.predicted_memory);
}

}  // namespace moai::remote

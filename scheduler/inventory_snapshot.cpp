// Inventory::snapshot: the inventory as the metrics see it.
#include <set>

#include "inventory.h"

namespace moai::sched {

MetricsSnapshot Inventory::snapshot() const {
  auto now = now_();
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  MetricsSnapshot out;
  for (auto& [id, w] : workers_) {
    out.workers.push_back({id, w.alive, seconds(now - w.last_heard)});
    for (uint32_t i = 0; i < w.devices.size(); ++i) {
      DeviceSample d;
      d.worker_id = id;
      d.index = i;
      d.props = w.devices[i];
      d.job_id = w.holder[i];
      if (w.memory_used.size() == w.devices.size()) d.memory_used = w.memory_used[i];
      if (w.utilization.size() == w.devices.size()) d.utilization = w.utilization[i];
      out.devices.push_back(d);
    }
  }
  for (auto& [id, job] : jobs_) {
    std::set<std::string> workers;
    for (auto& d : job.lease.devices) workers.insert(d.worker_id);
    // No queue yet: a lease is granted when asked for, or refused.
    out.jobs.push_back({id, job.user, uint32_t(job.lease.devices.size()), uint32_t(workers.size()), 0.0,
                        seconds(now - job.granted_at), 0.0});
  }
  return out;
}

}  // namespace moai::sched

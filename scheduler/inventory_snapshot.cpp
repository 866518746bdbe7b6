// Inventory::snapshot: the inventory as the metrics see it.
#include <algorithm>
#include <set>

#include "inventory.h"

namespace moai::sched {

MetricsSnapshot Inventory::snapshot() const {
  auto now = now_();
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  MetricsSnapshot out;
  for (auto& [id, w] : workers_) {
    out.workers.push_back({id, w.alive, seconds(now - w.last_heard)});
    const auto& devices = w.registration.devices;
    for (uint32_t i = 0; i < devices.size(); ++i) {
      DeviceSample d;
      d.worker_id = id;
      d.index = i;
      d.props = devices[i];
      d.job_id = w.holder[i] == kShared ? w.sharers[i].begin()->first : w.holder[i];
      if (w.memory_used.size() == devices.size()) d.memory_used = w.memory_used[i];
      if (w.utilization.size() == devices.size()) d.utilization = w.utilization[i];
      out.devices.push_back(d);
    }
  }
  for (auto& [id, job] : jobs_) {
    std::set<std::string> workers;
    for (auto& d : job.devices) workers.insert(d.worker_id);
    double queued = (job.running ? job.start_wall : wall_()) - job.submit_wall;
    double busy = 0;
    if (auto u = usage_.find(id); u != usage_.end())
      for (auto& [worker, s] : u->second.busy_by_worker) busy += s;
    out.jobs.push_back({id, job.request.user, uint32_t(job.devices.size()), uint32_t(workers.size()),
                        std::max(0.0, queued), job.running ? seconds(now - job.started) : 0.0, busy});
  }
  return out;
}

}  // namespace moai::sched

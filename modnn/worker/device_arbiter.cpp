#include "modnn/worker/device_arbiter.h"

#include <algorithm>

namespace moai::worker {

bool DeviceArbiter::mayRun(uint64_t job) const {
  if (running_ == job) return true;  // kept by leave(again)
  if (running_ != 0) return false;
  const Share& mine = jobs_.at(job);
  for (auto& [id, s] : jobs_)
    if (id != job && s.waiting && (s.vtime < mine.vtime || (s.vtime == mine.vtime && id < job))) return false;
  return true;
}

bool DeviceArbiter::enter(uint64_t job, uint32_t weight) {
  std::unique_lock<std::mutex> lock(mu_);
  {
    Share& s = jobs_[job];
    s.weight = std::max<uint32_t>(1, weight);
    s.vtime = std::max(s.vtime, clock_);  // idle time earns no credit
    s.waiting = true;
  }
  cv_.wait(lock, [&] { return !jobs_.count(job) || mayRun(job); });
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return false;  // forgotten while it waited
  it->second.waiting = false;
  running_ = job;
  clock_ = std::max(clock_, it->second.vtime);
  return true;
}

void DeviceArbiter::leave(uint64_t job, uint64_t busy_ns, bool again) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(job);
    if (it != jobs_.end()) it->second.vtime += double(busy_ns) / it->second.weight;
    if (running_ != job) return;
    running_ = 0;
    if (again && it != jobs_.end() && mayRun(job)) {
      running_ = job;  // still its turn: nobody waiting has less virtual time
      return;
    }
  }
  cv_.notify_all();
}

void DeviceArbiter::forget(uint64_t job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.erase(job);
    if (running_ == job) running_ = 0;
  }
  cv_.notify_all();
}

double DeviceArbiter::virtualTime(uint64_t job) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job);
  return it == jobs_.end() ? 0 : it->second.vtime;
}

}  // namespace moai::worker

#include "inventory.h"

#include <algorithm>
#include <set>

#include "placement.h"
#include "token.h"

namespace moai::sched {
namespace {

bool matches(const modnn_device_props& device, const std::string& kind) {
  return kind.empty() || kind == device.kind;
}

}  // namespace

Inventory::Inventory(InventoryConfig config, std::function<Clock::time_point()> now)
    : config_(config), now_(std::move(now)) {}

Result<std::vector<EndedLease>> Inventory::registerWorker(wire::RegisterMsg worker, std::string route) {
  std::vector<EndedLease> ended;
  auto it = workers_.find(worker.worker_id);
  if (it != workers_.end()) {
    for (uint64_t job : jobsOn(it->second))
      ended.push_back(endLease(job, "worker " + worker.worker_id + " registered again (restarted)"));
  } else if (workers_.size() >= config_.max_workers) {
    return makeError(MODNN_ERR_NOT_PERMITTED, "the scheduler already has " + std::to_string(workers_.size()) + " workers");
  }
  Worker& w = workers_[worker.worker_id];
  w.route = std::move(route);
  w.endpoints = std::move(worker.endpoints);
  w.devices = std::move(worker.devices);
  w.curve_key = std::move(worker.curve_key);
  w.memory_used.clear();
  w.busy_seconds.clear();
  w.utilization.clear();
  w.holder.assign(w.devices.size(), 0);
  w.last_heard = now_();
  w.alive = true;
  return ended;
}

bool Inventory::heartbeat(const std::string& worker_id, const std::string& route) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || !it->second.alive) return false;
  it->second.route = route;  // a reconnected socket gets a new routing id
  it->second.last_heard = now_();
  return true;
}

void Inventory::reportUsage(const wire::HeartbeatMsg& heartbeat) {
  auto it = workers_.find(heartbeat.worker_id);
  if (it == workers_.end()) return;
  Worker& w = it->second;
  if (heartbeat.memory_used.size() == w.devices.size()) w.memory_used = heartbeat.memory_used;
  if (heartbeat.busy_seconds.size() != w.devices.size()) return;
  // The worker's own clock: heartbeats arrive with jitter, bunched after a
  // stall, and the interval between arrivals would distort the ratio.
  double elapsed = heartbeat.uptime_seconds - w.busy_at;
  if (w.busy_seconds.size() == w.devices.size() && elapsed > 0) {
    w.utilization.resize(w.devices.size());
    for (size_t i = 0; i < w.devices.size(); ++i)
      w.utilization[i] = std::clamp((heartbeat.busy_seconds[i] - w.busy_seconds[i]) / elapsed * 100.0, 0.0, 100.0);
  } else if (elapsed < 0) {
    w.utilization.clear();  // the worker restarted under the same id: no interval yet
  }
  w.busy_seconds = heartbeat.busy_seconds;
  w.busy_at = heartbeat.uptime_seconds;
}

Result<Grant> Inventory::requestLease(const wire::LeaseRequestMsg& request, std::string client_route) {
  std::vector<Worker*> candidates;
  std::vector<const std::string*> ids;
  std::vector<uint32_t> free;
  for (auto& [id, w] : workers_) {
    if (!w.alive) continue;
    uint32_t n = 0;
    for (size_t i = 0; i < w.devices.size(); ++i) n += w.holder[i] == 0 && matches(w.devices[i], request.kind);
    if (n == 0) continue;
    candidates.push_back(&w);
    ids.push_back(&id);
    free.push_back(n);
  }
  auto placement = request.placement == schema::Placement::UNSET ? config_.placement : request.placement;
  auto take = choosePlacement(free, request.devices, placement);
  if (!take) {
    uint64_t available = 0;
    for (uint32_t n : free) available += n;
    std::string kind = request.kind.empty() ? "any kind" : "kind '" + request.kind + "'";
    return makeError(MODNN_ERR_OUT_OF_MEMORY, std::to_string(request.devices) + " devices of " + kind +
                                                  " wanted, " + std::to_string(available) + " free");
  }

  Job job;
  job.lease.job_id = next_job_id_++;
  job.lease.token = newLeaseToken();
  job.user = request.user;
  job.client_route = std::move(client_route);
  job.last_heard = job.granted_at = now_();
  Grant grant;
  for (size_t c = 0; c < candidates.size(); ++c) {
    Worker& w = *candidates[c];
    uint32_t left = (*take)[c];
    if (left > 0) grant.worker_routes.push_back(w.route);
    for (uint32_t i = 0; i < w.devices.size() && left > 0; ++i) {
      if (w.holder[i] != 0 || !matches(w.devices[i], request.kind)) continue;
      w.holder[i] = job.lease.job_id;
      job.lease.devices.push_back({*ids[c], w.endpoints, i, w.curve_key});
      --left;
    }
  }
  grant.lease = job.lease;
  jobs_.emplace(job.lease.job_id, std::move(job));
  return grant;
}

bool Inventory::keepalive(uint64_t job_id, const std::string& client_route) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return false;
  it->second.client_route = client_route;
  it->second.last_heard = now_();
  return true;
}

std::optional<EndedLease> Inventory::release(uint64_t job_id) {
  if (!jobs_.count(job_id)) return std::nullopt;
  return endLease(job_id, "released by the client");
}

Expired Inventory::expire() {
  Expired out;
  auto now = now_();
  for (auto it = workers_.begin(); it != workers_.end();) {
    Worker& w = it->second;
    if (w.alive && now - w.last_heard > config_.heartbeat_timeout) {
      w.alive = false;
      out.dead_workers.push_back(it->first);
      for (uint64_t job : jobsOn(w)) out.ended.push_back(endLease(job, "worker " + it->first + " stopped heartbeating"));
    }
    if (!w.alive && now - w.last_heard > config_.heartbeat_timeout + config_.forget_dead_after)
      it = workers_.erase(it);
    else
      ++it;
  }
  std::vector<uint64_t> silent;
  for (auto& [id, job] : jobs_)
    if (now - job.last_heard > config_.client_timeout) silent.push_back(id);
  for (uint64_t id : silent) out.ended.push_back(endLease(id, "no keepalive from the client"));
  return out;
}

wire::StatusMsg Inventory::status() const {
  wire::StatusMsg out;
  for (auto& [id, w] : workers_) {
    auto leased = std::count_if(w.holder.begin(), w.holder.end(), [](uint64_t job) { return job != 0; });
    out.workers.push_back({id, w.alive, uint32_t(w.devices.size()), uint32_t(leased)});
  }
  for (auto& [id, job] : jobs_) {
    out.jobs.push_back(job.lease);
    out.jobs.back().token.clear();
  }
  return out;
}

EndedLease Inventory::endLease(uint64_t job_id, std::string reason) {
  auto it = jobs_.find(job_id);
  EndedLease out{job_id, it->second.client_route, {}, std::move(reason)};
  std::set<std::string> seen;
  for (auto& d : it->second.lease.devices) {
    auto w = workers_.find(d.worker_id);
    if (w == workers_.end()) continue;
    if (w->second.holder[d.index] == job_id) w->second.holder[d.index] = 0;
    if (seen.insert(d.worker_id).second) out.worker_routes.push_back(w->second.route);
  }
  jobs_.erase(it);
  return out;
}

std::vector<uint64_t> Inventory::jobsOn(const Worker& worker) const {
  std::set<uint64_t> jobs;
  for (uint64_t job : worker.holder)
    if (job != 0) jobs.insert(job);
  return {jobs.begin(), jobs.end()};
}

}  // namespace moai::sched

#include "inventory.h"

#include <algorithm>
#include <cmath>

#include "colocation.h"
#include "placement.h"
#include "token.h"

namespace moai::sched {
namespace {

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string seconds(double s) { return std::to_string(int64_t(std::ceil(std::max(0.0, s)))) + " s"; }

double secondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Queue order: higher priority first, then the earlier job.
bool before(const wire::LeaseRequestMsg& a, uint64_t a_id, const wire::LeaseRequestMsg& b, uint64_t b_id) {
  return a.priority != b.priority ? a.priority > b.priority : a_id < b_id;
}

}  // namespace

void Effects::add(Effects other) {
  for (auto& m : other.messages) messages.push_back(std::move(m));
  for (auto& e : other.events) events.push_back(std::move(e));
}

Inventory::Inventory(InventoryConfig config, std::function<Clock::time_point()> now, std::function<double()> wall)
    : config_(config), now_(std::move(now)), wall_(wall ? std::move(wall) : unixNow),
      meter_(config.prices, config.max_usage_minutes) {}

// --- workers ---

void Inventory::Worker::hold(uint32_t index, uint64_t job) {
  ++*generation;
  if (holder[index] == 0 && job != 0) --free;
  if (holder[index] != 0 && job == 0) ++free;
  holder[index] = job;
}

void Inventory::Worker::share(uint32_t index, uint64_t job, uint64_t quota) {
  if (holder[index] == 0) hold(index, kShared);
  ++*generation;
  sharers[index][job] = quota;
}

bool Inventory::Worker::let(uint32_t index, uint64_t job) {
  if (index >= holder.size()) return false;
  if (holder[index] == job) {
    hold(index, 0);
    return true;
  }
  if (holder[index] != kShared || sharers[index].erase(job) == 0) return false;
  ++*generation;
  if (sharers[index].empty()) hold(index, 0);
  return true;
}

uint64_t Inventory::Worker::reserved(uint32_t index) const {
  uint64_t sum = 0;
  for (auto& [job, quota] : sharers[index]) sum += quota;
  return sum;
}

void Inventory::Worker::take(wire::RegisterMsg r, std::map<std::string, uint32_t>& kind_ids) {
  ++*generation;
  registration = std::move(r);
  memory_used.clear();
  busy_seconds.clear();
  utilization.clear();
  holder.assign(registration.devices.size(), 0);
  sharers.assign(registration.devices.size(), {});
  free = uint32_t(holder.size());
  kinds.clear();
  for (auto& d : registration.devices) kinds.push_back(kind_ids.emplace(d.kind, uint32_t(kind_ids.size())).first->second);
}

void Inventory::reportUsage(const wire::HeartbeatMsg& heartbeat) {
  auto it = workers_.find(heartbeat.worker_id);
  if (it == workers_.end()) return;
  Worker& w = it->second;
  size_t n = w.registration.devices.size();
  if (heartbeat.memory_used.size() == n) w.memory_used = heartbeat.memory_used;
  if (heartbeat.busy_seconds.size() != n) return;
  // The worker's own clock: heartbeats arrive with jitter, bunched after a
  // stall, and the interval between arrivals would distort the ratio.
  double elapsed = heartbeat.uptime_seconds - w.busy_at;
  if (w.busy_seconds.size() == n && elapsed > 0) {
    w.utilization.resize(n);
    for (size_t i = 0; i < n; ++i)
      w.utilization[i] = std::clamp((heartbeat.busy_seconds[i] - w.busy_seconds[i]) / elapsed * 100.0, 0.0, 100.0);
  } else if (elapsed < 0) {
    w.utilization.clear();  // the worker restarted under the same id: no interval yet
  }
  w.busy_seconds = heartbeat.busy_seconds;
  w.busy_at = heartbeat.uptime_seconds;
}

// Metering: each worker counts, per job, the device-seconds the job's work
// ran there; a job's busy time is the sum over the workers it has used.
// What that sum gained since the last bill is billed in the minute the
// heartbeat arrived. The per-worker counters are not stored: after a
// restart the sum starts below the bill and only what it gains beyond the
// bill counts, so nothing is billed twice.
// A job's work between the worker's last heartbeat and its end arrives
// after the end (the worker reports ended jobs' final counts): it is billed
// too, while the job's usage record is kept.
void Inventory::reportJobBusy(const wire::HeartbeatMsg& heartbeat) {
  auto worker = workers_.find(heartbeat.worker_id);
  if (worker == workers_.end()) return;
  for (auto& [job_id, seconds] : heartbeat.job_busy) {
    auto job = jobs_.find(job_id);
    auto usage = usage_.find(job_id);
    if (usage == usage_.end() || (job != jobs_.end() && !job->second.running)) continue;
    double& mine = usage->second.busy_by_worker[heartbeat.worker_id];
    if (seconds <= mine) continue;  // counters only grow (a late heartbeat)
    mine = seconds;
    double total = 0;
    for (auto& [w, s] : usage->second.busy_by_worker) total += s;
    wire::UsageEntry& e = usage->second.entry;
    double gained = total - std::max(0.0, e.busy_seconds);
    e.busy_seconds = std::max(0.0, e.busy_seconds);
    dirty_usage_.insert(job_id);
    if (gained <= 0) continue;
    // Its devices there; none left (a shrink): the worker's device kinds.
    std::map<std::string, uint32_t> kinds;
    if (job != jobs_.end()) kinds = kindsOf(job->second, &heartbeat.worker_id);
    if (kinds.empty())
      for (auto& d : worker->second.registration.devices) ++kinds[d.kind];
    Metered m = meter_.addBusy(job_id, wall_(), gained, kinds);
    e.busy_seconds += m.busy_seconds;
    e.cost += m.cost;
  }
  trimUsage();
}

std::map<std::string, uint32_t> Inventory::kindsOf(const Job& job, const std::string* worker_id) const {
  std::map<std::string, uint32_t> out;
  for (auto* list : {&job.devices, &job.dropping})
    for (auto& d : *list) {
      if (worker_id && d.worker_id != *worker_id) continue;
      auto w = workers_.find(d.worker_id);
      ++out[w == workers_.end() || d.index >= w->second.registration.devices.size()
                ? std::string()
                : std::string(w->second.registration.devices[d.index].kind)];
    }
  return out;
}

// Memory holds every running job's usage and the latest ended records; the
// state store keeps them all.
void Inventory::trimUsage() {
  while (usage_.size() > wire::kMaxUsageRecords) {
    auto oldest = std::find_if(usage_.begin(), usage_.end(), [](auto& kv) { return kv.second.entry.end_time > 0; });
    if (oldest == usage_.end()) break;
    meter_.forget(oldest->first);
    usage_.erase(oldest);
  }
  if (meter_.size() > config_.max_usage_minutes)
    meter_.trim([this](uint64_t job) {
      auto u = usage_.find(job);
      return u == usage_.end() || u->second.entry.end_time > 0;
    });
}

std::vector<uint32_t> Inventory::kindIds(const std::string& kind) const {
  std::vector<uint32_t> out;
  for (auto& k : wire::kindAlternatives(kind)) {
    auto it = kind_ids_.find(k);
    out.push_back(it == kind_ids_.end() ? UINT32_MAX : it->second);
  }
  return out;
}

Result<Effects> Inventory::registerWorker(wire::RegisterMsg worker, std::string route) {
  Effects out;
  bool draining = false;
  auto it = workers_.find(worker.worker_id);
  if (it != workers_.end()) {
    draining = it->second.draining;
    for (uint64_t job : jobsOn(it->second))
      out.add(endJob(job, "worker " + worker.worker_id + " registered again (restarted)", true));
  } else if (workers_.size() >= config_.max_workers) {
    return makeError(MODNN_ERR_NOT_PERMITTED, "the scheduler already has " + std::to_string(workers_.size()) + " workers");
  }
  std::string id = worker.worker_id;
  Worker& w = workers_[id];
  w.generation = &generation_;
  w.route = std::move(route);
  w.take(std::move(worker), kind_ids_);
  w.last_heard = now_();
  w.alive = true;
  w.draining = draining;
  dirty_workers_.insert(id);
  out.add(schedule());
  return out;
}

bool Inventory::heartbeat(const std::string& worker_id, const std::string& route) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || !it->second.alive) return false;
  if (it->second.route.empty()) reschedule_ = true;  // restored: it can take leases now
  it->second.route = route;  // a reconnected socket gets a new routing id
  it->second.last_heard = now_();
  return true;
}

Result<Effects> Inventory::drain(const std::string& worker_id, bool draining) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return makeError(MODNN_ERR_INVALID_HANDLE, "no worker " + worker_id);
  Effects out;
  if (it->second.draining != draining) {
    it->second.draining = draining;
    ++generation_;
    dirty_workers_.insert(worker_id);
    out.events.push_back("worker " + worker_id + (draining ? " draining: no new leases" : " takes leases again"));
    reschedule_ = true;
  }
  out.add(schedule());
  return out;
}

// --- jobs ---

// A worker restored from the state file takes no new lease before its first
// heartbeat: its grant would have no route to go to.
bool Inventory::takesLeases(const Worker& w) const { return w.alive && !w.draining && !w.route.empty(); }

bool Inventory::matches(const Job& job, const Worker& worker, uint32_t index) const {
  if (worker.registration.devices[index].total_memory < job.request.min_memory_per_device) return false;
  if (job.kinds.empty()) return true;
  return std::find(job.kinds.begin(), job.kinds.end(), worker.kinds[index]) != job.kinds.end();
}

uint32_t Inventory::freeFor(const Job& job, std::map<std::pair<std::string, uint64_t>, uint32_t>* free_cache) const {
  std::pair<std::string, uint64_t> key{job.request.kind, job.request.min_memory_per_device};
  if (free_cache)
    if (auto it = free_cache->find(key); it != free_cache->end()) return it->second;
  uint32_t n = 0;
  for (auto& [id, w] : workers_)
    if (takesLeases(w) && w.free > 0)
      for (uint32_t i = 0; i < w.holder.size(); ++i) n += w.holder[i] == 0 && matches(job, w, i);
  if (free_cache) (*free_cache)[key] = n;
  return n;
}

uint64_t Inventory::capacityFor(const Job& job) const {
  uint64_t n = 0;
  for (auto& [id, w] : workers_)
    if (w.alive)
      for (uint32_t i = 0; i < w.holder.size(); ++i) n += matches(job, w, i);
  return n;
}

std::optional<std::vector<Inventory::DeviceRef>> Inventory::pick(const Job& job, uint32_t count) const {
  std::vector<const std::pair<const std::string, Worker>*> candidates;
  std::vector<uint32_t> free;
  for (auto& entry : workers_) {
    const Worker& w = entry.second;
    if (!takesLeases(w) || w.free == 0) continue;
    uint32_t n = 0;
    for (uint32_t i = 0; i < w.holder.size(); ++i) n += w.holder[i] == 0 && matches(job, w, i);
    if (n == 0) continue;
    candidates.push_back(&entry);
    free.push_back(n);
  }
  auto placement = job.request.placement == schema::Placement::UNSET ? config_.placement : job.request.placement;
  auto take = choosePlacement(free, count, placement);
  if (!take) return std::nullopt;
  std::vector<DeviceRef> out;
  for (size_t c = 0; c < candidates.size(); ++c) {
    const Worker& w = candidates[c]->second;
    uint32_t left = (*take)[c];
    for (uint32_t i = 0; i < w.holder.size() && left > 0; ++i) {
      if (w.holder[i] != 0 || !matches(job, w, i)) continue;
      out.push_back({candidates[c]->first, i});
      --left;
    }
  }
  return out;
}

uint64_t Inventory::quotaFor(const Job& job) const {
  if (!job.request.shareable || job.request.predicted_memory == 0) return 0;
  return coloc::memoryReservation(job.request.predicted_memory, config_.share_headroom);
}

std::optional<std::vector<Inventory::DeviceRef>> Inventory::pickShared(const Job& job, uint32_t count, uint64_t quota,
                                                                       const std::vector<DeviceRef>& exclude) const {
  std::vector<DeviceRef> refs;
  std::vector<coloc::MemoryDevice> devices;
  for (auto& [id, w] : workers_) {
    if (!takesLeases(w)) continue;
    for (uint32_t i = 0; i < w.holder.size(); ++i) {
      if ((w.holder[i] != 0 && w.holder[i] != kShared) || !matches(job, w, i)) continue;
      DeviceRef ref{id, i};
      if (std::find(exclude.begin(), exclude.end(), ref) != exclude.end()) continue;
      refs.push_back(ref);
      devices.push_back({w.registration.devices[i].total_memory, w.reserved(i), true});
    }
  }
  // FGD's workload: the quotas of the jobs sharing devices now, and this one.
  std::vector<coloc::MemoryClass> workload;
  bool mine = false;
  for (auto& [bytes, n] : shared_quotas_) {
    mine = mine || bytes == quota;
    workload.push_back({bytes, n + (bytes == quota ? 1.0 : 0.0)});
  }
  if (!mine) workload.push_back({quota, 1.0});
  std::vector<DeviceRef> out;
  while (out.size() < count) {
    auto chosen = coloc::chooseMemoryDevice(devices, quota, workload);
    if (!chosen) return std::nullopt;
    out.push_back(refs[*chosen]);
    devices[*chosen].shareable = false;  // one job uses a device once
  }
  return out;
}

void Inventory::countQuota(uint64_t quota, int delta) {
  if (quota == 0) return;
  auto& n = shared_quotas_[quota];
  n = uint32_t(int(n) + delta);
  if (n == 0) shared_quotas_.erase(quota);
}

uint64_t Inventory::freedBy(const Worker& w, uint32_t index) const {
  if (w.holder[index] != kShared) return w.holder[index];
  // Sharers without a time limit outlast the others; among them, the latest started.
  uint64_t last = 0;
  std::optional<Clock::time_point> last_end;
  for (auto& [job_id, quota] : w.sharers[index]) {
    auto end = endOf(jobs_.at(job_id));
    if (last == 0 || (last_end && (!end || *end > *last_end))) {
      last = job_id;
      last_end = end;
    }
  }
  return last;
}

std::optional<Clock::time_point> Inventory::endOf(const Job& job) const {
  if (job.request.time_limit_s == 0) return std::nullopt;
  return job.started + std::chrono::seconds(job.request.time_limit_s);
}

const Inventory::Reservation& Inventory::reserve(const Job& head) const {
  // Nothing that moves a reservation changed since it was computed: reuse it
  // (a queue of thousands would otherwise recompute it for every request).
  if (reservation_ && reservation_->job_id == head.id && reservation_generation_ == generation_) {
    reservation_->head = &head;
    return *reservation_;
  }
  Reservation r{head.id, now_(), &head, {}, 0};
  std::unordered_map<uint64_t, size_t> held;  // matching devices per running job
  for (auto& [id, w] : workers_) {
    if (!w.alive || w.draining) continue;
    for (uint32_t i = 0; i < w.holder.size(); ++i) {
      if (!matches(head, w, i)) continue;
      if (w.holder[i] == 0)
        ++r.usable;
      else
        ++held[freedBy(w, i)];
    }
  }
  // Running jobs in the order they end; those without a time limit last,
  // assumed to end in the order they started (so a job that backfills
  // without a limit never counts as ending before those already running).
  struct End {
    bool limited;
    Clock::time_point when;  // the end, or the start for jobs without a limit
    uint64_t job;
  };
  std::vector<End> ends;
  for (auto& [job, n] : held) {
    const Job& j = jobs_.at(job);
    auto end = endOf(j);
    ends.push_back({end.has_value(), end ? *end : j.started, job});
  }
  std::sort(ends.begin(), ends.end(), [](const End& a, const End& b) {
    if (a.limited != b.limited) return a.limited;
    return std::tie(a.when, a.job) < std::tie(b.when, b.job);
  });
  size_t need = head.request.devices;
  bool enough = r.usable >= need;
  for (auto& e : ends) {
    if (enough && (!r.at || !e.limited || e.when > *r.at)) break;  // later jobs free nothing before the reservation
    r.freeing.insert(e.job);
    r.usable += held[e.job];
    if (!enough && r.usable >= need) {
      enough = true;
      r.at = e.limited ? std::optional(std::max(e.when, now_())) : std::nullopt;
    }
  }
  if (!enough) r.at = std::nullopt;  // not even all of them: only once workers come back
  reservation_ = std::move(r);
  reservation_generation_ = generation_;
  return *reservation_;
}

bool Inventory::delays(const Reservation& head, const std::vector<DeviceRef>& devices,
                       std::optional<Clock::time_point> until) const {
  // EASY backfill: fine if they are back before the reservation, or are not
  // the head's, or leave it enough of its own.
  if (until && (!head.at || *until <= *head.at)) return false;
  size_t taken = 0;
  for (auto& d : devices) taken += usableBy(head, d);
  return taken > 0 && head.usable - taken < head.head->request.devices;
}

const Inventory::Job* Inventory::queueHead() const {
  const Job* head = nullptr;
  for (auto& [id, job] : jobs_)
    if (!job.running && (!head || before(job.request, id, head->request, head->id))) head = &job;
  return head;
}

bool Inventory::usableBy(const Reservation& r, const DeviceRef& d) const {
  const Worker& w = workers_.at(d.worker_id);
  if (!w.alive || w.draining || !matches(*r.head, w, d.index)) return false;
  return w.holder[d.index] == 0 || r.freeing.count(freedBy(w, d.index)) > 0;
}

std::string Inventory::describe(const Job& job) const {
  std::string out = std::to_string(job.request.devices) + " device(s) of " +
                    (job.request.kind.empty() ? std::string("any kind") : "kind '" + job.request.kind + "'");
  if (job.request.min_memory_per_device)
    out += " with >= " + std::to_string(job.request.min_memory_per_device >> 20) + " MiB";
  return out;
}

Effects Inventory::schedule() {
  reschedule_ = false;
  Effects out;
  std::vector<Job*> queue;
  for (auto& [id, job] : jobs_)
    if (!job.running) queue.push_back(&job);
  std::stable_sort(queue.begin(), queue.end(),
                   [](Job* a, Job* b) { return before(a->request, a->id, b->request, b->id); });
  const Reservation* head = nullptr;  // the first job that waits
  uint32_t position = 0;
  auto now = now_();
  std::map<std::pair<std::string, uint64_t>, uint32_t> free_cache;
  for (Job* job : queue) {
    if (job->client_route.empty()) {
      // Restored, and its client not heard from yet: a lease now would have
      // no route to go to. It keeps its place; the head's place passes on.
      job->position = ++position;
      job->reason = "waiting for the client's keepalive since the scheduler restarted";
      continue;
    }
    uint32_t free = freeFor(*job, &free_cache);
    // Shared devices when the job may share and they have room, else whole
    // ones: a placement exists exactly when enough matching devices are free.
    uint64_t quota = quotaFor(*job);
    auto devices = quota ? pickShared(*job, job->request.devices, quota) : std::nullopt;
    if (!devices) quota = 0;
    if (!devices && free >= job->request.devices) devices = pick(*job, job->request.devices);
    auto end = job->request.time_limit_s ? std::optional(now + std::chrono::seconds(job->request.time_limit_s))
                                         : std::nullopt;
    if (devices && (!head || !delays(*head, *devices, end))) {
      job->quota = quota;
      out.add(start(*job, std::move(*devices)));
      free_cache.clear();
      if (head) head = &reserve(jobs_.at(head->job_id));
      continue;
    }
    job->position = ++position;
    std::string wants = "Resources: " + describe(*job) + " wanted, " + std::to_string(free) + " usable free";
    if (!head) {
      head = &reserve(*job);
      job->reason = wants + (head->at ? "; reserved to start in " + seconds(secondsBetween(now, *head->at))
                                      : "; starts when a job without time limit ends");
    } else if (devices) {
      job->reason = "Priority: starting now would delay job " + std::to_string(head->job_id);
    } else {
      job->reason = wants + "; behind job " + std::to_string(head->job_id);
    }
  }
  return out;
}

Effects Inventory::start(Job& job, std::vector<DeviceRef> devices) {
  job.running = true;
  job.token = newLeaseToken();
  job.devices = std::move(devices);
  job.started = now_();
  job.start_wall = wall_();
  job.position = 0;
  job.reason.clear();
  for (auto& d : job.devices) {
    Worker& w = workers_.at(d.worker_id);
    job.quota ? w.share(d.index, job.id, job.quota) : w.hold(d.index, job.id);
  }
  countQuota(job.quota, +1);
  UsageRecord& u = usage_[job.id];
  u.entry = {job.id, job.request.user, uint32_t(job.devices.size()), job.submit_wall, job.start_wall, 0, 0, -1, ""};
  u.counted_until = job.start_wall;
  dirty_jobs_.insert(job.id);
  dirty_usage_.insert(job.id);

  // Workers first, so a grant is on its way before the client can present its token.
  Effects out;
  wire::LeaseEntry lease = leaseOf(job);
  auto routes = routesOf(job.devices);
  for (auto& route : routes) out.messages.push_back({route, wire::GrantMsg{lease}});
  out.messages.push_back({job.client_route, wire::LeaseMsg{std::move(lease)}});
  out.events.push_back("job " + std::to_string(job.id) + ": " + std::to_string(job.devices.size()) + " devices on " +
                       std::to_string(routes.size()) + " workers for user '" + job.request.user + "' after " +
                       seconds(job.start_wall - job.submit_wall) + " in the queue" +
                       (job.quota ? ", sharing them with a quota of " + std::to_string(job.quota >> 20) + " MiB" : ""));
  return out;
}

Result<Effects> Inventory::requestLease(const wire::LeaseRequestMsg& request, std::string client_route) {
  Job job;
  job.request = request;
  job.kinds = kindIds(request.kind);
  uint64_t exist = capacityFor(job);
  if (exist < request.devices)
    return makeError(MODNN_ERR_OUT_OF_MEMORY, describe(job) + " can never be leased: " + std::to_string(exist) +
                                                  " such devices are registered");
  if (jobs_.size() >= config_.max_jobs)
    return makeError(MODNN_ERR_NOT_PERMITTED, "the scheduler already holds " + std::to_string(jobs_.size()) + " jobs");
  job.id = next_job_id_++;
  job.client_route = std::move(client_route);
  job.last_heard = now_();
  job.submit_wall = wall_();
  uint64_t id = job.id;
  jobs_.emplace(id, std::move(job));
  dirty_jobs_.insert(id);

  Effects out = schedule();
  Job& j = jobs_.at(id);
  if (!j.running) {
    out.messages.push_back({j.client_route, wire::QueuedMsg{id, j.position, j.reason}});
    out.events.push_back("job " + std::to_string(id) + " for user '" + request.user + "' queued at position " +
                         std::to_string(j.position) + ": " + j.reason);
  }
  return out;
}

std::optional<Effects> Inventory::keepalive(uint64_t job_id, const std::string& client_route) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  Job& job = it->second;
  if (job.client_route.empty() && !job.running) reschedule_ = true;  // restored: its lease has a route now
  job.client_route = client_route;
  job.last_heard = now_();
  Effects out;
  if (job.change_unconfirmed && job.change_sent_to != client_route) {
    out.messages.push_back({client_route, wire::LeaseChangedMsg{leaseOf(job)}});
    job.change_sent_to = client_route;
  }
  return out;
}

std::optional<Effects> Inventory::release(uint64_t job_id, const std::string& client_route) {
  if (!jobs_.count(job_id)) return std::nullopt;
  Effects out = endJob(job_id, "released by the client", false);
  out.messages.push_back({client_route, wire::ReleasedMsg{job_id}});
  out.add(schedule());
  return out;
}

Result<Effects> Inventory::cancel(uint64_t job_id) {
  if (!jobs_.count(job_id)) return makeError(MODNN_ERR_INVALID_HANDLE, "no job " + std::to_string(job_id));
  Effects out = endJob(job_id, "cancelled", true);
  out.add(schedule());
  return out;
}

std::optional<Effects> Inventory::memoryReport(const wire::MemoryReportMsg& report, const std::string& route) {
  auto it = jobs_.find(report.job_id);
  if (it == jobs_.end() || it->second.client_route != route) return std::nullopt;
  Job& job = it->second;
  job.peak_allocated = report.peak_allocated;
  Effects out;
  if (job.request.predicted_memory == report.predicted_peak) return out;
  job.request.predicted_memory = report.predicted_peak;  // a restart places it by what it learnt
  dirty_jobs_.insert(job.id);
  uint64_t want = quotaFor(job);
  if (!job.running || job.quota == 0 || want <= job.quota) return out;
  std::string name = "job " + std::to_string(job.id);
  for (auto& d : job.devices) {
    const Worker& w = workers_.at(d.worker_id);
    if (w.reserved(d.index) - job.quota + want > w.registration.devices[d.index].total_memory) {
      out.events.push_back(name + " now predicts " + std::to_string(report.predicted_peak >> 20) + " MiB; " +
                           d.worker_id + " device " + std::to_string(d.index) + " has no room beyond its quota of " +
                           std::to_string(job.quota >> 20) + " MiB");
      return out;
    }
  }
  for (auto& d : job.devices) workers_.at(d.worker_id).share(d.index, job.id, want);
  out.events.push_back(name + "'s quota grew from " + std::to_string(job.quota >> 20) + " to " +
                       std::to_string(want >> 20) + " MiB per device");
  countQuota(job.quota, -1);
  countQuota(want, +1);
  job.quota = want;
  for (auto& route : routesOf(job.devices)) out.messages.push_back({route, wire::QuotaMsg{job.id, want}});
  out.messages.push_back({job.client_route, wire::QuotaMsg{job.id, want}});
  return out;
}

Effects Inventory::endJob(uint64_t job_id, std::string reason, bool tell_client) {
  Job& job = jobs_.at(job_id);
  Effects out;
  if (job.running) {
    countQuota(job.quota, -1);
    countUsage(job);
    UsageRecord& u = usage_.at(job_id);
    u.entry.end_time = u.counted_until;
    u.entry.end_reason = reason;
    dirty_usage_.insert(job_id);
    std::vector<DeviceRef> held = job.devices;
    held.insert(held.end(), job.dropping.begin(), job.dropping.end());
    for (auto& route : routesOf(held)) out.messages.push_back({route, wire::RevokeMsg{job_id}});
    for (auto& d : held) {
      auto w = workers_.find(d.worker_id);
      if (w != workers_.end()) w->second.let(d.index, job_id);
    }
  }
  if (tell_client) out.messages.push_back({job.client_route, wire::RevokeMsg{job_id}});
  out.events.push_back("job " + std::to_string(job_id) + (job.running ? "" : " (queued)") + " ended: " + reason);
  jobs_.erase(job_id);
  dirty_jobs_.insert(job_id);
  reschedule_ = true;
  trimUsage();
  return out;
}

// Leased time, split at minute boundaries by usage_meter; the lease's
// devices are the same all through [counted_until, now): every change of
// the lease counts usage first.
void Inventory::countUsage(Job& job) {
  UsageRecord& u = usage_.at(job.id);
  double now = wall_();
  if (now > u.counted_until)
    u.entry.leased_device_seconds += meter_.addLeased(job.id, u.counted_until, now, kindsOf(job)).leased_device_seconds;
  u.counted_until = std::max(u.counted_until, now);
  u.entry.devices = uint32_t(job.devices.size());
  dirty_usage_.insert(job.id);
  trimUsage();
}

// Running jobs' leased time into their minute records once a minute has
// passed, so the store holds each finished minute without waiting for the
// job to end.
void Inventory::rollUsage() {
  double minute = std::floor(wall_() / 60);
  for (auto& [id, job] : jobs_) {
    if (!job.running) continue;
    auto u = usage_.find(id);
    if (u != usage_.end() && std::floor(u->second.counted_until / 60) < minute) countUsage(job);
  }
}

// --- resize ---

Result<Effects> Inventory::resize(uint64_t job_id, uint32_t devices) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return makeError(MODNN_ERR_INVALID_HANDLE, "no job " + std::to_string(job_id));
  Job& job = it->second;
  std::string name = "job " + std::to_string(job_id);
  if (!job.running) return makeError(MODNN_ERR_NOT_READY, name + " is queued; only a running lease can be resized");
  if (job.change_unconfirmed)
    return makeError(MODNN_ERR_NOT_READY, name + " has not confirmed its previous resize yet");
  if (devices == 0 || devices > wire::kMaxLeaseDevices)
    return makeError(MODNN_ERR_INVALID_VALUE, "a lease holds 1 to " + std::to_string(wire::kMaxLeaseDevices) + " devices");
  size_t now_held = job.devices.size();
  Effects out;
  if (devices == now_held) {
    out.events.push_back(name + " already holds " + std::to_string(devices) + " devices");
    return out;
  }
  if (devices > now_held) {
    std::vector<DeviceRef> mine = job.devices;
    mine.insert(mine.end(), job.dropping.begin(), job.dropping.end());
    auto extra = job.quota ? pickShared(job, uint32_t(devices - now_held), job.quota, mine)
                           : pick(job, uint32_t(devices - now_held));
    if (!extra)
      return makeError(MODNN_ERR_OUT_OF_MEMORY, "cannot grow " + name + ": " + std::to_string(devices - now_held) +
                                                    " more free devices of its kind are not available");
    // A grow is a backfill too: it may not push back the first queued job.
    if (const Job* head = queueHead(); head && delays(reserve(*head), *extra, endOf(job)))
      return makeError(MODNN_ERR_OUT_OF_MEMORY, "cannot grow " + name + " now: it would delay queued job " +
                                                    std::to_string(head->id));
    countUsage(job);
    for (auto& d : *extra) {
      Worker& w = workers_.at(d.worker_id);
      job.quota ? w.share(d.index, job_id, job.quota) : w.hold(d.index, job_id);
    }
    job.devices.insert(job.devices.end(), extra->begin(), extra->end());
    countUsage(job);  // records the new size
    wire::LeaseEntry lease = leaseOf(job);
    for (auto& route : routesOf(*extra)) out.messages.push_back({route, wire::GrantMsg{lease}});
    out.messages.push_back({job.client_route, wire::LeaseChangedMsg{std::move(lease)}});
    out.events.push_back(name + " grown from " + std::to_string(now_held) + " to " + std::to_string(devices) + " devices");
  } else {
    // Drop from the workers holding the fewest of the job's devices, so the
    // lease keeps as few workers as it can; the latest devices first.
    std::map<std::string, size_t> per_worker;
    for (auto& d : job.devices) ++per_worker[d.worker_id];
    std::vector<std::pair<size_t, std::string>> order;
    for (auto& [w, n] : per_worker) order.push_back({n, w});
    std::sort(order.begin(), order.end());
    size_t drop = now_held - devices;
    std::set<DeviceRef> dropped;
    for (auto& [n, w] : order)
      for (auto d = job.devices.rbegin(); d != job.devices.rend() && dropped.size() < drop; ++d)
        if (d->worker_id == w) dropped.insert(*d);
    std::vector<DeviceRef> kept;
    for (auto& d : job.devices) (dropped.count(d) ? job.dropping : kept).push_back(d);
    job.devices = std::move(kept);
    out.messages.push_back({job.client_route, wire::LeaseChangedMsg{leaseOf(job)}});
    out.events.push_back(name + " shrinking from " + std::to_string(now_held) + " to " + std::to_string(devices) +
                         " devices; waiting for the client to move its data");
  }
  job.change_unconfirmed = true;
  job.change_sent_to = job.client_route;
  dirty_jobs_.insert(job_id);
  return out;
}

Result<Effects> Inventory::resized(uint64_t job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || !it->second.running)
    return makeError(MODNN_ERR_INVALID_HANDLE, "job " + std::to_string(job_id) + " holds no lease");
  Job& job = it->second;
  Effects out;
  if (job.change_unconfirmed) dirty_jobs_.insert(job_id);
  job.change_unconfirmed = false;
  if (job.dropping.empty()) return out;  // a grow frees nothing
  countUsage(job);
  std::map<std::string, std::vector<uint32_t>> by_worker;
  for (auto& d : job.dropping) {
    by_worker[d.worker_id].push_back(d.index);
    auto w = workers_.find(d.worker_id);
    if (w != workers_.end()) w->second.let(d.index, job_id);
  }
  job.dropping.clear();
  countUsage(job);
  for (auto& [worker_id, indices] : by_worker) {
    auto w = workers_.find(worker_id);
    if (w == workers_.end()) continue;
    bool keeps = std::any_of(job.devices.begin(), job.devices.end(), [&](auto& d) { return d.worker_id == worker_id; });
    if (keeps)
      out.messages.push_back({w->second.route, wire::DropDevicesMsg{job_id, indices}});
    else
      out.messages.push_back({w->second.route, wire::RevokeMsg{job_id}});
  }
  out.events.push_back("job " + std::to_string(job_id) + " moved off its dropped devices; they are free");
  dirty_jobs_.insert(job_id);
  reschedule_ = true;
  out.add(schedule());
  return out;
}

// --- time ---

Effects Inventory::expire() {
  Effects out;
  auto now = now_();
  for (auto it = workers_.begin(); it != workers_.end();) {
    Worker& w = it->second;
    if (w.alive && now - w.last_heard > config_.heartbeat_timeout) {
      w.alive = false;
      ++generation_;
      out.events.push_back("worker " + it->first + " stopped heartbeating: marked dead");
      for (uint64_t job : jobsOn(w)) out.add(endJob(job, "worker " + it->first + " stopped heartbeating", true));
    }
    if (!w.alive && now - w.last_heard > config_.heartbeat_timeout + config_.forget_dead_after) {
      dirty_workers_.insert(it->first);
      ++generation_;
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<std::pair<uint64_t, std::string>> ending;
  for (auto& [id, job] : jobs_) {
    if (now - job.last_heard > config_.client_timeout)
      ending.push_back({id, job.running ? "no keepalive from the client" : "no keepalive from the client while queued"});
    else if (job.running && endOf(job) && now >= *endOf(job))
      ending.push_back({id, "time limit of " + std::to_string(job.request.time_limit_s) + " s reached"});
  }
  for (auto& [id, reason] : ending) out.add(endJob(id, reason, true));
  rollUsage();
  if (reschedule_) out.add(schedule());
  return out;
}

// --- reports ---

wire::StatusMsg Inventory::status() const {
  wire::StatusMsg out;
  for (auto& [id, w] : workers_) {
    auto leased = std::count_if(w.holder.begin(), w.holder.end(), [](uint64_t job) { return job != 0; });
    wire::WorkerStatusEntry entry{id, w.alive, uint32_t(w.holder.size()), uint32_t(leased), w.draining, {}};
    for (uint32_t i = 0; i < w.holder.size(); ++i) {
      auto& p = w.registration.devices[i];
      wire::DeviceStatusEntry d{i, {}, p.kind, p.name, p.total_memory, w.holder[i]};
      if (w.holder[i] == kShared) {
        for (auto& [job, quota] : w.sharers[i]) d.sharers.push_back(job);
        d.job_id = d.sharers.front();
        d.reserved_memory = w.reserved(i);
      }
      std::copy(std::begin(p.uuid), std::end(p.uuid), d.uuid.begin());
      entry.device_list.push_back(std::move(d));
    }
    out.workers.push_back(std::move(entry));
  }
  std::vector<const Job*> order;
  for (auto& [id, job] : jobs_) order.push_back(&job);
  std::stable_sort(order.begin(), order.end(), [](const Job* a, const Job* b) {
    if (a->running != b->running) return !a->running;  // the queue first
    return !a->running && before(a->request, a->id, b->request, b->id);
  });
  for (const Job* job : order) {
    if (job->running) {
      out.jobs.push_back(leaseOf(*job));
      out.jobs.back().token.clear();
    }
    out.queue.push_back({job->id, job->request.user, job->running, job->request, job->submit_wall, job->start_wall,
                         job->position, job->reason, uint32_t(job->devices.size()), job->change_unconfirmed,
                         job->quota, job->peak_allocated});
  }
  return out;
}

wire::UsageMsg Inventory::usage() {
  for (auto& [id, job] : jobs_)
    if (job.running && usage_.count(id)) countUsage(job);
  wire::UsageMsg out;
  for (auto& [id, u] : usage_) out.records.push_back(u.entry);
  out.minutes = meter_.minutes();
  return out;
}

wire::LeaseEntry Inventory::leaseOf(const Job& job) const {
  wire::LeaseEntry lease{job.id, job.token, {}, job.quota, job.request.share_weight};
  for (auto& d : job.devices) {
    const wire::RegisterMsg& r = workers_.at(d.worker_id).registration;
    lease.devices.push_back({d.worker_id, r.endpoints, d.index, r.curve_key});
  }
  return lease;
}

std::vector<std::string> Inventory::routesOf(const std::vector<DeviceRef>& devices) const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& d : devices) {
    auto w = workers_.find(d.worker_id);
    if (w != workers_.end() && seen.insert(d.worker_id).second) out.push_back(w->second.route);
  }
  return out;
}

std::vector<uint64_t> Inventory::jobsOn(const Worker& worker) const {
  std::set<uint64_t> jobs;
  for (size_t i = 0; i < worker.holder.size(); ++i) {
    if (worker.holder[i] != 0 && worker.holder[i] != kShared) jobs.insert(worker.holder[i]);
    for (auto& [job, quota] : worker.sharers[i]) jobs.insert(job);
  }
  return {jobs.begin(), jobs.end()};
}

// --- persistence ---

void Inventory::restore(Snapshot snapshot) {
  auto now = now_();
  double wall = wall_();
  for (auto& record : snapshot.workers) {
    std::string id = record.registration.worker_id;
    Worker& w = workers_[id];
    w.generation = &generation_;
    w.take(std::move(record.registration), kind_ids_);
    w.last_heard = now;  // a grace period of one heartbeat timeout
    w.alive = true;
    w.draining = record.draining;
  }
  for (auto& record : snapshot.jobs) {
    Job job;
    job.id = record.job_id;
    job.request = std::move(record.request);
    job.kinds = kindIds(job.request.kind);
    job.running = record.running;
    job.token = std::move(record.token);
    job.last_heard = now;
    job.submit_wall = record.submit_time;
    job.start_wall = record.start_time;
    job.change_unconfirmed = record.change_unconfirmed;  // sent again at the first keepalive
    job.quota = record.memory_quota;
    if (job.running) countQuota(job.quota, +1);
    job.started = now - std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(std::max(0.0, wall - record.start_time)));
    for (auto& d : record.devices) {
      auto w = workers_.find(d.worker_id);
      if (w == workers_.end() || d.index >= w->second.holder.size()) continue;
      uint64_t holder = w->second.holder[d.index];
      if (job.quota && (holder == 0 || holder == kShared))
        w->second.share(d.index, job.id, job.quota);
      else if (!job.quota && holder == 0)
        w->second.hold(d.index, job.id);
      else
        continue;
      (d.dropping ? job.dropping : job.devices).push_back({d.worker_id, d.index});
    }
    next_job_id_ = std::max(next_job_id_, job.id + 1);
    jobs_.emplace(job.id, std::move(job));
  }
  for (auto& u : snapshot.usage) {
    u.busy_by_worker.clear();  // not stored: the workers' counters start over against the bill
    usage_[u.entry.job_id] = std::move(u);
  }
  meter_.restore(std::move(snapshot.usage_minutes));
  // A running job whose devices all vanished from the snapshot cannot go on.
  std::vector<uint64_t> orphans;
  for (auto& [id, job] : jobs_)
    if (job.running && (job.devices.empty() || !usage_.count(id))) orphans.push_back(id);
  for (uint64_t id : orphans) {
    if (!usage_.count(id)) usage_[id].entry = {id, jobs_.at(id).request.user, 0, jobs_.at(id).submit_wall,
                                                jobs_.at(id).start_wall, 0, 0, -1, ""};
    endJob(id, "its devices were not in the saved state", false);
  }
  next_job_id_ = std::max(next_job_id_, snapshot.next_job_id);
  reschedule_ = true;
}

Changes Inventory::takeChanges() {
  Changes out;
  for (auto& id : dirty_workers_) {
    auto it = workers_.find(id);
    if (it == workers_.end())
      out.workers_gone.push_back(id);
    else
      out.workers.push_back({it->second.registration, it->second.draining});
  }
  for (uint64_t id : dirty_jobs_) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) {
      out.jobs_gone.push_back(id);
      continue;
    }
    const Job& j = it->second;
    JobRecord r{id, j.request, j.running, j.token, j.submit_wall, j.start_wall, {}, j.change_unconfirmed, j.quota};
    for (auto& d : j.devices) r.devices.push_back({d.worker_id, d.index, false});
    for (auto& d : j.dropping) r.devices.push_back({d.worker_id, d.index, true});
    out.jobs.push_back(std::move(r));
  }
  for (uint64_t id : dirty_usage_) {
    auto it = usage_.find(id);
    if (it != usage_.end()) out.usage.push_back(it->second);
  }
  out.usage_minutes = meter_.takeChanges();
  out.next_job_id = next_job_id_;
  dirty_workers_.clear();
  dirty_jobs_.clear();
  dirty_usage_.clear();
  return out;
}

}  // namespace moai::sched

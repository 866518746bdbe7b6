// The scheduler's state: registered workers with their devices, the job
// queue, and the leases that hold those devices.
//
// Pure bookkeeping, no I/O: every call returns the messages the daemon must
// send, and to whom. A peer is named by an opaque `route` (its ZeroMQ
// routing id; "" = not known yet, after a restart). Time comes from
// injectable clocks, so tests run timeouts and time limits without waiting.
// A device is held whole by one lease, or shared by shareable jobs whose
// memory quotas (predicted peak plus headroom) fit it together: a shareable
// job with a prediction goes where cluster fragmentation grows least (FGD,
// scheduler/colocation.h), on devices already shared first, and falls back
// to whole devices when none has room.
//
// Queue: jobs that do not fit wait, ordered by priority, then job id (=
// submit order). The first waiting job holds a reservation: the earliest
// time enough devices it can use are free, from the time limits of running
// jobs (no limit = never). A later job starts ahead of it only if that does
// not move the reservation (EASY backfilling).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "interpose/core/result.h"
#include "metrics.h"
#include "schemas/scheduler_messages.h"
#include "usage_meter.h"

namespace moai::sched {

using Clock = std::chrono::steady_clock;

struct InventoryConfig {
  Clock::duration heartbeat_timeout = std::chrono::seconds(3);  // a worker silent this long is dead
  Clock::duration client_timeout = std::chrono::seconds(10);    // a job without keepalive this long ends
  Clock::duration forget_dead_after = std::chrono::seconds(60); // then a dead worker leaves the status
  schema::Placement placement = schema::Placement::PACK;        // for requests that leave it UNSET
  size_t max_workers = wire::kMaxStatusWorkers;
  size_t max_jobs = wire::kMaxStatusJobs;                       // queued and running together
  double share_headroom = 0.10;  // a shared job's quota: its predicted peak plus this fraction
  PriceTable prices;                                            // per device-minute of busy time, by kind
  size_t max_usage_minutes = wire::kMaxUsageMinutes;            // per-minute records kept in memory
};

// One message to send; the daemon skips an empty route.
struct Outgoing {
  std::string route;
  wire::FromSchedulerMsg message;
};

// What a call changed: the messages to send in order, and lines for the log.
struct Effects {
  std::vector<Outgoing> messages;
  std::vector<std::string> events;
  void add(Effects other);
};

// --- persistence: what the state store keeps (scheduler/state_store.h) ---

struct WorkerRecord {
  wire::RegisterMsg registration;
  bool draining = false;
};
struct LeasedDeviceRecord {
  std::string worker_id;
  uint32_t index = 0;
  bool dropping = false;  // dropped by a shrink, held until the client's `resized`
};
struct JobRecord {
  uint64_t job_id = 0;
  wire::LeaseRequestMsg request;
  bool running = false;
  std::string token;                         // "" while queued
  double submit_time = 0, start_time = 0;    // Unix seconds
  std::vector<LeasedDeviceRecord> devices;   // lease order
  bool change_unconfirmed = false;           // a leaseChanged awaits the client's `resized`
  uint64_t memory_quota = 0;                 // per device while sharing; 0 = whole devices
};
struct UsageRecord {
  wire::UsageEntry entry;       // leased_device_seconds counted up to `counted_until`
  double counted_until = 0;     // Unix seconds
  // Metered device-seconds, per worker's counter (not stored: see
  // reportJobBusy). Kept with the usage, not the job: a worker's last count
  // of a job can arrive after the job ended.
  std::map<std::string, double> busy_by_worker;
};
struct Snapshot {
  std::vector<WorkerRecord> workers;
  std::vector<JobRecord> jobs;
  std::vector<UsageRecord> usage;
  std::vector<wire::UsageMinuteEntry> usage_minutes;
  uint64_t next_job_id = 1;
};
// Rows to write since the last takeChanges(): a listed key whose record is
// absent was deleted.
struct Changes {
  std::vector<WorkerRecord> workers;
  std::vector<std::string> workers_gone;
  std::vector<JobRecord> jobs;
  std::vector<uint64_t> jobs_gone;
  std::vector<UsageRecord> usage;
  std::vector<wire::UsageMinuteEntry> usage_minutes;
  uint64_t next_job_id = 1;
  bool empty() const {
    return workers.empty() && workers_gone.empty() && jobs.empty() && jobs_gone.empty() && usage.empty() &&
           usage_minutes.empty();
  }
};

class Inventory {
 public:
  // `wall` gives Unix seconds, for submit/start times and usage.
  explicit Inventory(InventoryConfig config, std::function<Clock::time_point()> now = Clock::now,
                     std::function<double()> wall = nullptr);
  Inventory(const Inventory&) = delete;  // workers point at its generation counter
  Inventory& operator=(const Inventory&) = delete;

  // Replaces an earlier registration of the same id (the worker restarted):
  // the leases on the earlier one end; a drain stays. Fails when the worker
  // table is full.
  Result<Effects> registerWorker(wire::RegisterMsg worker, std::string route);
  // false: the worker is unknown or was declared dead and must register again.
  bool heartbeat(const std::string& worker_id, const std::string& route);
  // A heartbeat's per-device memory in use and busy time, for the metrics
  // (each list is ignored when its length is not the worker's device count).
  void reportUsage(const wire::HeartbeatMsg& heartbeat);
  // A heartbeat's per-job busy device-seconds, into the jobs' usage records
  // and into the minute in which the heartbeat arrived (usage_meter.h).
  void reportJobBusy(const wire::HeartbeatMsg& heartbeat);

  // Starts the job now (grants, then `lease` to the client) or queues it
  // (`queued` to the client). Fails for a request no set of registered
  // workers could ever satisfy, or when the job table is full.
  Result<Effects> requestLease(const wire::LeaseRequestMsg& request, std::string client_route);
  // nullopt: no such job (never submitted, released, or ended). A keepalive
  // from a new route gets the job's unconfirmed lease change again (the
  // first may have gone to a socket the client no longer reads).
  std::optional<Effects> keepalive(uint64_t job_id, const std::string& client_route);
  // A running job's new memory prediction. A shared job whose quota no
  // longer covers it gets a larger one when its devices have room (`quota`
  // to its workers and client); otherwise it keeps the quota it has.
  // nullopt: no such job, or `route` is not its client's (the one that
  // keeps it alive).
  std::optional<Effects> memoryReport(const wire::MemoryReportMsg& report, const std::string& route);
  // Ends a queued or running job at its client's request (`released` to it).
  std::optional<Effects> release(uint64_t job_id, const std::string& client_route);
  // Ends a queued or running job from outside; the client gets `revoke`.
  Result<Effects> cancel(uint64_t job_id);
  // Draining: no new leases on the worker; running ones go on.
  Result<Effects> drain(const std::string& worker_id, bool draining);

  // Grows (free devices join at the end of the lease) or shrinks (devices
  // leave from the workers holding the fewest of the job's devices) a
  // running lease. The client gets `leaseChanged` and answers `resized`;
  // until then a shrink's devices stay held and no other resize of the job
  // is taken. A grow never queues, and is refused if it would delay the
  // first queued job (as a backfill would be).
  Result<Effects> resize(uint64_t job_id, uint32_t devices);
  Result<Effects> resized(uint64_t job_id);

  // Declares silent workers dead, ends their leases, those of silent
  // clients and of jobs past their time limit, drops queued jobs without
  // keepalive, forgets long-dead workers, and starts what now fits. Call it
  // periodically.
  Effects expire();

  // Lease tokens are left out: anyone may ask.
  wire::StatusMsg status() const;
  // Counts the running jobs' leased time up to now first, so each job's
  // totals are the sums of its minute records.
  wire::UsageMsg usage();
  // Everything /metrics shows (inventory_snapshot.cpp).
  MetricsSnapshot snapshot() const;

  // Persistence. restore() takes a snapshot into an empty inventory: its
  // workers count as alive until a heartbeat timeout passes (their routes
  // come with their first heartbeat), its jobs as kept alive until a client
  // timeout passes.
  void restore(Snapshot snapshot);
  Changes takeChanges();

 private:
  struct DeviceRef {
    std::string worker_id;
    uint32_t index = 0;
    bool operator<(const DeviceRef& o) const { return std::tie(worker_id, index) < std::tie(o.worker_id, o.index); }
    bool operator==(const DeviceRef& o) const = default;
  };
  // holder[] of a device that shareable jobs share.
  static constexpr uint64_t kShared = UINT64_MAX;
  struct Worker {
    std::string route;
    wire::RegisterMsg registration;
    std::vector<uint32_t> kinds;           // per device: its kind's id in kind_ids_
    std::vector<uint64_t> holder;          // per device: the job leasing it, 0 = free, kShared; set through hold()
    std::vector<std::map<uint64_t, uint64_t>> sharers;  // per device: job -> its quota, while kShared
    uint32_t free = 0;                     // devices with holder 0
    Clock::time_point last_heard;
    bool alive = true;
    bool draining = false;
    std::vector<uint64_t> memory_used;     // per device, from heartbeats; empty = not reported
    std::vector<double> busy_seconds;      // per device, the worker's counter at its last report
    double busy_at = 0;                    // the worker's uptime at that report
    std::vector<double> utilization;       // per device, percent busy between the last two reports
    uint64_t* generation = nullptr;        // the inventory's, bumped by every change below
    void hold(uint32_t index, uint64_t job);
    // Adds a job to a free or shared device, or sets its quota there.
    void share(uint32_t index, uint64_t job, uint64_t quota);
    // Takes `job` off device `index`, whole or shared; false if it was not there.
    bool let(uint32_t index, uint64_t job);
    uint64_t reserved(uint32_t index) const;  // the sharers' quotas together
    // A (new) registration: every device free; kinds get ids in `kind_ids`.
    void take(wire::RegisterMsg r, std::map<std::string, uint32_t>& kind_ids);
  };
  struct Job {
    uint64_t id = 0;
    wire::LeaseRequestMsg request;
    std::vector<uint32_t> kinds;           // ids of the request's alternatives, {} = any
    bool running = false;
    std::string token;
    std::string client_route;
    Clock::time_point last_heard, started;
    double submit_wall = 0, start_wall = 0;
    std::vector<DeviceRef> devices;        // the lease, in its order
    std::vector<DeviceRef> dropping;       // shrunk away, awaiting `resized`
    bool change_unconfirmed = false;       // a leaseChanged awaits `resized`
    std::string change_sent_to;            // the route it went to
    uint64_t quota = 0;                    // per device while sharing devices; 0 = whole devices
    uint64_t peak_allocated = 0;           // per device, from the client's memory reports
    uint32_t position = 0;
    std::string reason;
  };
  // When the first waiting job can start, and on which devices.
  struct Reservation {
    uint64_t job_id = 0;
    std::optional<Clock::time_point> at;   // nullopt: only when a job without time limit ends
    // Its devices then: those matching it on alive, undrained workers that
    // are free now or held by one of `freeing` (jobs that end by `at`).
    const Job* head = nullptr;
    std::unordered_set<uint64_t> freeing;
    size_t usable = 0;
  };

  bool takesLeases(const Worker& worker) const;
  bool matches(const Job& job, const Worker& worker, uint32_t index) const;
  // Free matching devices on alive, undrained workers; and matching devices
  // on alive workers at all. `free_cache` (by kind and minimum memory) holds
  // within one scheduling pass until a job starts.
  uint32_t freeFor(const Job& job, std::map<std::pair<std::string, uint64_t>, uint32_t>* free_cache = nullptr) const;
  uint64_t capacityFor(const Job& job) const;
  std::optional<std::vector<DeviceRef>> pick(const Job& job, uint32_t count) const;
  // Devices to share for a shareable job with a prediction, each with room
  // for `quota`, none of `exclude`; nullopt when not enough have room.
  std::optional<std::vector<DeviceRef>> pickShared(const Job& job, uint32_t count, uint64_t quota,
                                                   const std::vector<DeviceRef>& exclude = {}) const;
  uint64_t quotaFor(const Job& job) const;  // 0: the job takes whole devices
  // The job whose end frees device `index` of `w`: its holder, or for a
  // shared device the sharer that ends last. 0 = free.
  uint64_t freedBy(const Worker& w, uint32_t index) const;
  std::optional<Clock::time_point> endOf(const Job& job) const;
  const Reservation& reserve(const Job& head) const;
  bool usableBy(const Reservation& r, const DeviceRef& d) const;
  // Whether `devices`, held until `until` (nullopt: no limit), would push
  // back the head's reservation.
  bool delays(const Reservation& head, const std::vector<DeviceRef>& devices,
              std::optional<Clock::time_point> until) const;
  const Job* queueHead() const;  // the first queued job in queue order, if any
  std::vector<uint32_t> kindIds(const std::string& kind) const;  // unknown kinds get an id that matches nothing
  Effects start(Job& job, std::vector<DeviceRef> devices);
  Effects schedule();
  Effects endJob(uint64_t job_id, std::string reason, bool tell_client);
  void countUsage(Job& job);
  // The job's devices (on `worker_id` only, if given), counted by kind.
  std::map<std::string, uint32_t> kindsOf(const Job& job, const std::string* worker_id = nullptr) const;
  void trimUsage();
  void rollUsage();
  wire::LeaseEntry leaseOf(const Job& job) const;
  std::vector<std::string> routesOf(const std::vector<DeviceRef>& devices) const;  // one per worker
  std::vector<uint64_t> jobsOn(const Worker& worker) const;
  std::string describe(const Job& job) const;

  InventoryConfig config_;
  std::function<Clock::time_point()> now_;
  std::function<double()> wall_;
  std::map<std::string, Worker> workers_;  // by id: ordered, so placement is deterministic
  std::map<uint64_t, Job> jobs_;
  std::map<uint64_t, UsageRecord> usage_;  // every started job; ended ones trimmed to kMaxUsageRecords
  UsageMeter meter_;                       // their per-minute records
  std::map<std::string, uint32_t> kind_ids_;  // every device kind ever registered, so matching compares integers
  // Running jobs that share devices, by quota: FGD's workload, kept as jobs
  // start, grow and end so placement does not walk every job.
  std::map<uint64_t, uint32_t> shared_quotas_;
  void countQuota(uint64_t quota, int delta);
  uint64_t next_job_id_ = 1;
  bool reschedule_ = false;                // something changed that schedule() must look at
  // Bumped by every change of a device's holder, a worker's registration,
  // liveness or drain: a cached reservation of an older generation is stale.
  uint64_t generation_ = 0;
  mutable std::optional<Reservation> reservation_;
  mutable uint64_t reservation_generation_ = 0;
  std::set<std::string> dirty_workers_;
  std::set<uint64_t> dirty_jobs_, dirty_usage_;
};

}  // namespace moai::sched

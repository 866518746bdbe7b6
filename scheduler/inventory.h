// The scheduler's state: registered workers with their devices, and the
// leases that hold those devices.
//
// Pure bookkeeping, no I/O: every call returns what the daemon must tell
// whom. A peer is named by an opaque `route` (its ZeroMQ routing id). Time
// comes from an injectable clock, so tests run timeouts without waiting.
// A device belongs to at most one lease (colocation comes later).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "interpose/core/result.h"
#include "metrics.h"
#include "schemas/scheduler_messages.h"

namespace moai::sched {

using Clock = std::chrono::steady_clock;

struct InventoryConfig {
  Clock::duration heartbeat_timeout = std::chrono::seconds(3);  // a worker silent this long is dead
  Clock::duration client_timeout = std::chrono::seconds(10);    // a lease without keepalive this long ends
  Clock::duration forget_dead_after = std::chrono::seconds(60); // then a dead worker leaves the status
  schema::Placement placement = schema::Placement::PACK;        // for requests that leave it UNSET
  size_t max_workers = wire::kMaxStatusWorkers;
};

// A new lease: send `grant` to every worker route, then `lease` to the client.
struct Grant {
  wire::LeaseEntry lease;
  std::vector<std::string> worker_routes;  // one per worker of the lease
};

// A lease that ended: send `revoke` to every worker route, and to the
// client unless it released the lease itself.
struct EndedLease {
  uint64_t job_id = 0;
  std::string client_route;
  std::vector<std::string> worker_routes;
  std::string reason;
};

struct Expired {
  std::vector<std::string> dead_workers;   // ids of workers declared dead just now
  std::vector<EndedLease> ended;
};

class Inventory {
 public:
  explicit Inventory(InventoryConfig config, std::function<Clock::time_point()> now = Clock::now);

  // Replaces an earlier registration of the same id (the worker restarted):
  // the leases on the earlier one end. Fails when the worker table is full.
  Result<std::vector<EndedLease>> registerWorker(wire::RegisterMsg worker, std::string route);
  // false: the worker is unknown or was declared dead and must register again.
  bool heartbeat(const std::string& worker_id, const std::string& route);
  // A heartbeat's per-device memory in use and busy time, for the metrics
  // (each list is ignored when its length is not the worker's device count).
  void reportUsage(const wire::HeartbeatMsg& heartbeat);

  // MODNN_ERR_OUT_OF_MEMORY when not enough matching devices are free.
  Result<Grant> requestLease(const wire::LeaseRequestMsg& request, std::string client_route);
  // false: no such lease (never granted, released, or ended).
  bool keepalive(uint64_t job_id, const std::string& client_route);
  std::optional<EndedLease> release(uint64_t job_id);

  // Declares silent workers dead, ends their leases and those of silent
  // clients, and forgets long-dead workers. Call it periodically.
  Expired expire();

  // Lease tokens are left out: anyone may ask for the status.
  wire::StatusMsg status() const;
  // Everything /metrics shows (inventory_snapshot.cpp).
  MetricsSnapshot snapshot() const;

 private:
  struct Worker {
    std::string route;
    std::vector<std::string> endpoints;
    std::vector<modnn_device_props> devices;
    std::vector<uint64_t> holder;          // per device: the job leasing it, 0 = free
    Clock::time_point last_heard;
    bool alive = true;
    std::string curve_key;                 // its data port's; "" = plain tcp
    std::vector<uint64_t> memory_used;     // per device, from heartbeats; empty = not reported
    std::vector<double> busy_seconds;      // per device, the worker's counter at its last report
    double busy_at = 0;                    // the worker's uptime at that report
    std::vector<double> utilization;       // per device, percent busy between the last two reports
  };
  struct Job {
    wire::LeaseEntry lease;
    std::string user;
    std::string client_route;
    Clock::time_point last_heard;
    Clock::time_point granted_at;
  };

  EndedLease endLease(uint64_t job_id, std::string reason);
  std::vector<uint64_t> jobsOn(const Worker& worker) const;

  InventoryConfig config_;
  std::function<Clock::time_point()> now_;
  std::map<std::string, Worker> workers_;  // by id: ordered, so placement is deterministic
  std::map<uint64_t, Job> jobs_;
  uint64_t next_job_id_ = 1;
};

}  // namespace moai::sched

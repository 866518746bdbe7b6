// The job queue, EASY backfilling, cancel, drain, resize, usage and the
// persistence records of the Inventory, on fake clocks.
#include <catch2/catch.hpp>

#include "scheduler_test_helpers.h"

using moai::sched::Changes;
using moai::sched::Snapshot;
namespace wire = moai::wire;

namespace {

struct Cluster {
  FakeClock clock;
  FakeWall wall;
  InventoryConfig config;
  std::unique_ptr<Inventory> inv;
  explicit Cluster(int workers, int devices_each, const char* kind = "cpu") {
    config.client_timeout = 1000s;  // keepalives are not the point here
    config.heartbeat_timeout = 1000s;
    inv = std::make_unique<Inventory>(config, clock.fn(), wall.fn());
    for (int w = 0; w < workers; ++w)
      REQUIRE(inv->registerWorker(worker("w" + std::to_string(w), devices_each, kind), "r" + std::to_string(w)).ok());
  }
  void advance(std::chrono::seconds s) {
    clock.now += s;
    wall.now += double(s.count());
  }
  const wire::JobStatusEntry& status(uint64_t id, wire::StatusMsg& s) {
    s = inv->status();
    for (auto& j : s.queue)
      if (j.job_id == id) return j;
    FAIL("no job " << id);
    return s.queue.front();
  }
};

// Keeps what takeChanges() reports, as the state store would.
struct FakeStore {
  std::map<std::string, moai::sched::WorkerRecord> workers;
  std::map<uint64_t, moai::sched::JobRecord> jobs;
  std::map<uint64_t, moai::sched::UsageRecord> usage;
  uint64_t next = 1;
  void apply(Changes c) {
    for (auto& w : c.workers) workers[w.registration.worker_id] = w;
    for (auto& id : c.workers_gone) workers.erase(id);
    for (auto& j : c.jobs) jobs[j.job_id] = j;
    for (auto id : c.jobs_gone) jobs.erase(id);
    for (auto& u : c.usage) usage[u.entry.job_id] = u;
    next = c.next_job_id;
  }
  Snapshot snapshot() const {
    Snapshot s;
    for (auto& [id, w] : workers) s.workers.push_back(w);
    for (auto& [id, j] : jobs) s.jobs.push_back(j);
    for (auto& [id, u] : usage) s.usage.push_back(u);
    s.next_job_id = next;
    return s;
  }
};

}  // namespace

TEST_CASE("a job that does not fit waits; the queue goes by priority, then submit order") {
  Cluster c(1, 4);
  auto big = granted(c.inv->requestLease(job(4), "a"));
  uint64_t low = queued(c.inv->requestLease(job(2, 0), "b"));
  uint64_t low2 = queued(c.inv->requestLease(job(2, 0), "c"));
  uint64_t high = queued(c.inv->requestLease(job(2, 5), "d"));
  wire::StatusMsg s;
  CHECK(c.status(high, s).position == 1);
  CHECK(c.status(low, s).position == 2);
  CHECK(c.status(low2, s).position == 3);
  CHECK(c.status(high, s).reason.find("Resources") == 0);
  CHECK_FALSE(c.status(big.job_id, s).reason.size());
  REQUIRE(s.queue.size() == 4);
  CHECK(s.queue[0].job_id == high);  // the queue in its order, then the running jobs
  CHECK(s.queue[3].running);

  auto freed = c.inv->release(big.job_id, "a");
  REQUIRE(freed);
  CHECK(started(*freed) == std::vector<uint64_t>{high, low});
  CHECK(routesOf<wire::LeaseMsg>(*freed) == std::vector<std::string>{"d", "b"});
  CHECK(c.status(low2, s).position == 1);
}

TEST_CASE("EASY backfill: a later job starts first only if it does not delay the head") {
  Cluster c(1, 4);
  auto running = granted(c.inv->requestLease(job(2, 0, 100), "a"));  // ends at t=100 at the latest
  uint64_t head = queued(c.inv->requestLease(job(4), "head"));       // reserved for t=100
  wire::StatusMsg s;
  CHECK(c.status(head, s).reason.find("reserved to start in 100 s") != std::string::npos);

  // No time limit: it would hold a device the head needs past t=100.
  uint64_t endless = queued(c.inv->requestLease(job(1), "endless"));
  CHECK(c.status(endless, s).reason.find("would delay job " + std::to_string(head)) != std::string::npos);
  // Ends after the reservation: same.
  uint64_t too_long = queued(c.inv->requestLease(job(1, 0, 150), "long"));
  // Ends before: backfills.
  auto short1 = granted(c.inv->requestLease(job(1, 0, 50), "short1"));
  auto short2 = granted(c.inv->requestLease(job(1, 0, 100), "short2"));
  CHECK(c.status(head, s).position == 1);
  CHECK(c.status(endless, s).position == 2);
  CHECK(c.status(too_long, s).position == 3);

  c.advance(50s);
  auto at50 = c.inv->expire();
  CHECK(revoked(at50) == std::vector<uint64_t>{short1.job_id});  // its time limit
  CHECK(started(at50).empty());  // the freed device stays free for the head
  c.advance(50s);
  auto at100 = c.inv->expire();
  CHECK(revoked(at100) == std::vector<uint64_t>{running.job_id, short2.job_id});
  CHECK(started(at100) == std::vector<uint64_t>{head});  // on time
}

TEST_CASE("backfill uses devices the head can never use, and spare ones") {
  Cluster c(1, 2, "h100");
  REQUIRE(c.inv->registerWorker(worker("cpus", 2, "cpu"), "rc").ok());
  REQUIRE(c.inv->registerWorker(worker("more", 3, "h100"), "rm").ok());
  granted(c.inv->requestLease(job(3, 0, 0, "h100"), "a"));  // no time limit
  uint64_t head = queued(c.inv->requestLease(job(4, 0, 0, "h100"), "head"));
  // The cpu devices are no use to the head: anything may take them.
  granted(c.inv->requestLease(job(2, 0, 0, "cpu"), "cpu-job"));
  // 5 h100 in all, the head needs 4: one is spare even after everything ends.
  granted(c.inv->requestLease(job(1, 0, 0, "h100"), "spare"));
  uint64_t more = queued(c.inv->requestLease(job(1, 0, 0, "h100"), "more"));
  wire::StatusMsg s;
  CHECK(c.status(more, s).reason.find("would delay job " + std::to_string(head)) != std::string::npos);
  CHECK(c.status(head, s).reason.find("without time limit") != std::string::npos);
}

TEST_CASE("a queued job needs keepalives; a running one needs them too") {
  FakeClock clock;
  InventoryConfig config;
  config.client_timeout = 10s;
  config.heartbeat_timeout = 1000s;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("w", 1), "rw").ok());
  auto first = granted(inv.requestLease(job(1), "a"));
  uint64_t kept = queued(inv.requestLease(job(1), "b"));
  uint64_t silent = queued(inv.requestLease(job(1), "c"));
  clock.now += 6s;
  CHECK(inv.keepalive(first.job_id, "a"));
  CHECK(inv.keepalive(kept, "b2"));
  clock.now += 6s;
  auto e = inv.expire();
  CHECK(revoked(e) == std::vector<uint64_t>{silent});
  CHECK(routesOf<wire::RevokeMsg>(e) == std::vector<std::string>{"c"});
  auto done = inv.release(first.job_id, "a");
  REQUIRE(done);
  CHECK(routesOf<wire::LeaseMsg>(*done) == std::vector<std::string>{"b2"});  // to the latest keepalive's route
}

TEST_CASE("cancel ends a queued or a running job and tells everyone") {
  Cluster c(2, 1);
  auto running = granted(c.inv->requestLease(job(2), "a"));
  uint64_t waiting = queued(c.inv->requestLease(job(1), "b"));
  uint64_t after = queued(c.inv->requestLease(job(2), "c"));

  auto q = c.inv->cancel(waiting);
  REQUIRE(q.ok());
  CHECK(routesOf<wire::RevokeMsg>(*q) == std::vector<std::string>{"b"});
  auto r = c.inv->cancel(running.job_id);
  REQUIRE(r.ok());
  CHECK(routesOf<wire::RevokeMsg>(*r) == std::vector<std::string>{"r0", "r1", "a"});
  CHECK(started(*r) == std::vector<uint64_t>{after});
  auto unknown = c.inv->cancel(999);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == MODNN_ERR_INVALID_HANDLE);
  auto usage = c.inv->usage();
  REQUIRE(usage.records.size() == 2);  // the queued one never held devices
  CHECK(usage.records[0].end_reason == "cancelled");
}

TEST_CASE("a draining worker takes no new leases; running ones go on; undrain lets the queue in") {
  Cluster c(2, 2);
  auto on_w0 = granted(c.inv->requestLease(job(1), "a"));
  REQUIRE(on_w0.devices[0].worker_id == "w0");
  REQUIRE(c.inv->drain("w0", true).ok());
  REQUIRE_FALSE(c.inv->drain("nobody", true).ok());
  wire::StatusMsg s = c.inv->status();
  CHECK(s.workers[0].draining);
  CHECK(s.jobs.size() == 1);  // still running

  CHECK(workersOf(granted(c.inv->requestLease(job(2), "b"))) == std::multiset<std::string>{"w1", "w1"});
  uint64_t waiting = queued(c.inv->requestLease(job(1), "c"));  // w0's free device is off limits
  auto undrained = c.inv->drain("w0", false);
  REQUIRE(undrained.ok());
  CHECK(started(*undrained) == std::vector<uint64_t>{waiting});
  // A drain outlives a worker's re-registration.
  REQUIRE(c.inv->drain("w1", true).ok());
  REQUIRE(c.inv->registerWorker(worker("w1", 2), "r1b").ok());
  CHECK(c.inv->status().workers[1].draining);
}

TEST_CASE("resize grows onto free devices and shrinks off the workers with fewest of the job's devices") {
  Cluster c(3, 2);
  auto lease = granted(c.inv->requestLease(job(2), "client"));  // packed on one worker
  std::string home = lease.devices[0].worker_id;

  auto grow = c.inv->resize(lease.job_id, 3);
  REQUIRE(grow.ok());
  auto changed = sent<wire::LeaseChangedMsg>(*grow);
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].first == "client");
  auto grown = changed[0].second.lease;
  REQUIRE(grown.devices.size() == 3);
  CHECK(grown.token == lease.token);
  CHECK(std::vector(grown.devices.begin(), grown.devices.begin() + 2) == lease.devices);  // kept first, in order
  auto grants = sent<wire::GrantMsg>(*grow);
  REQUIRE(grants.size() == 1);  // only the worker that gained a device
  CHECK(grants[0].second.lease.devices == grown.devices);
  CHECK(grow->messages.back().route == "client");  // the grant goes out first

  auto unconfirmed = c.inv->resize(lease.job_id, 2);
  REQUIRE_FALSE(unconfirmed.ok());  // one resize at a time
  CHECK(unconfirmed.error().code == MODNN_ERR_NOT_READY);
  // The client's keepalive socket differs from the one the change went to
  // (it may have gone to a socket already closed): the change goes again.
  auto again = c.inv->keepalive(lease.job_id, "client-keepalive");
  REQUIRE(again);
  auto resent = sent<wire::LeaseChangedMsg>(*again);
  REQUIRE(resent.size() == 1);
  CHECK(resent[0].first == "client-keepalive");
  CHECK(resent[0].second.lease.devices == grown.devices);
  CHECK(c.inv->keepalive(lease.job_id, "client-keepalive")->messages.empty());  // once per route
  REQUIRE(c.inv->resized(lease.job_id).ok());
  CHECK(c.inv->keepalive(lease.job_id, "client")->messages.empty());  // confirmed: nothing more

  auto too_big = c.inv->resize(lease.job_id, 7);
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().code == MODNN_ERR_OUT_OF_MEMORY);

  // Shrink to 2: the device on the worker holding only one of them goes.
  auto shrink = c.inv->resize(lease.job_id, 2);
  REQUIRE(shrink.ok());
  auto shrunk = sent<wire::LeaseChangedMsg>(*shrink);
  REQUIRE(shrunk.size() == 1);
  CHECK(shrunk[0].second.lease.devices == lease.devices);
  CHECK(sent<wire::RevokeMsg>(*shrink).empty());  // nothing leaves before the client moved its data
  wire::StatusMsg s;
  CHECK(c.status(lease.job_id, s).resize_pending);
  REQUIRE_FALSE(c.inv->resize(lease.job_id, 1).ok());  // one resize at a time
  uint64_t waiting = queued(c.inv->requestLease(job(4), "other"));  // 3 free until the confirmation

  auto confirmed = c.inv->resized(lease.job_id);
  REQUIRE(confirmed.ok());
  std::string left = grown.devices[2].worker_id;
  CHECK(routesOf<wire::RevokeMsg>(*confirmed) == std::vector<std::string>{"r" + left.substr(1)});
  CHECK(started(*confirmed) == std::vector<uint64_t>{waiting});

  // Shrinking within a worker the job keeps: dropDevices, not revoke.
  auto one = c.inv->resize(lease.job_id, 1);
  REQUIRE(one.ok());
  auto partial = c.inv->resized(lease.job_id);
  REQUIRE(partial.ok());
  auto drops = sent<wire::DropDevicesMsg>(*partial);
  REQUIRE(drops.size() == 1);
  CHECK(drops[0].second.job_id == lease.job_id);
  CHECK(drops[0].second.indices == std::vector<uint32_t>{lease.devices[1].index});
  CHECK(sent<wire::RevokeMsg>(*partial).empty());
  CHECK(c.inv->resized(lease.job_id).ok());  // nothing pending: nothing happens

  uint64_t q = queued(c.inv->requestLease(job(6), "x"));
  CHECK_FALSE(c.inv->resize(q, 1).ok());  // queued jobs are not resized
}

TEST_CASE("usage counts leased device-seconds through resizes") {
  Cluster c(1, 4);
  auto lease = granted(c.inv->requestLease(job(2), "client"));
  c.advance(10s);
  REQUIRE(c.inv->resize(lease.job_id, 4).ok());
  REQUIRE(c.inv->resized(lease.job_id).ok());
  c.advance(10s);
  REQUIRE(c.inv->resize(lease.job_id, 1).ok());
  c.advance(10s);  // the dropped devices count until the client lets go
  REQUIRE(c.inv->resized(lease.job_id).ok());
  c.advance(10s);
  auto live = c.inv->usage();
  REQUIRE(live.records.size() == 1);
  CHECK(live.records[0].leased_device_seconds == Approx(2 * 10 + 4 * 10 + 4 * 10 + 1 * 10));
  CHECK(live.records[0].end_time == 0);
  CHECK(live.records[0].busy_seconds < 0);
  REQUIRE(c.inv->release(lease.job_id, "client"));
  c.advance(10s);
  auto done = c.inv->usage();
  CHECK(done.records[0].leased_device_seconds == Approx(110));
  CHECK(done.records[0].end_reason == "released by the client");
  CHECK(done.records[0].user == "alice");
}

TEST_CASE("a restored inventory keeps jobs, leases, drains, usage and job ids") {
  Cluster c(2, 2);
  FakeStore store;
  auto lease = granted(c.inv->requestLease(job(3, 0, 500), "client"));
  uint64_t waiting = queued(c.inv->requestLease(job(2), "waiter"));
  REQUIRE(c.inv->drain("w1", true).ok());
  store.apply(c.inv->takeChanges());
  c.advance(20s);
  CHECK(c.inv->takeChanges().empty());  // time alone changes nothing to store

  // The daemon dies; a new one starts from the store.
  Inventory back(c.config, c.clock.fn(), c.wall.fn());
  back.restore(store.snapshot());
  auto e = back.expire();
  CHECK(e.messages.empty());  // nothing ends, nothing starts
  auto s = back.status();
  REQUIRE(s.jobs.size() == 1);
  CHECK(s.jobs[0].devices == [&] {
    auto d = lease.devices;
    for (auto& x : d) x.endpoints = {"tcp://" + x.worker_id + ":7000"};
    return d;
  }());
  CHECK(s.workers[1].draining);
  CHECK(s.queue.size() == 2);
  CHECK(back.heartbeat("w0", "new-route"));  // known: no need to register again
  CHECK(back.keepalive(lease.job_id, "client"));
  CHECK(back.keepalive(waiting, "waiter"));
  auto usage = back.usage();
  REQUIRE(usage.records.size() == 1);
  CHECK(usage.records[0].leased_device_seconds == Approx(60));
  uint64_t next = queued(back.requestLease(job(2), "third"));
  CHECK(next == waiting + 1);

  // Revokes reach the routes learnt since the restart.
  auto ended = back.cancel(lease.job_id);
  REQUIRE(ended.ok());
  auto routes = routesOf<wire::RevokeMsg>(*ended);
  CHECK(std::count(routes.begin(), routes.end(), "new-route") == 1);
  CHECK(started(*ended) == std::vector<uint64_t>{waiting});
}

TEST_CASE("after a restore, silent workers still die after the heartbeat timeout") {
  FakeClock clock;
  InventoryConfig config;
  config.heartbeat_timeout = 3s;
  config.client_timeout = 100s;
  Inventory inv(config, clock.fn());
  FakeStore store;
  REQUIRE(inv.registerWorker(worker("quiet", 1), "rq").ok());
  REQUIRE(inv.registerWorker(worker("chatty", 1), "rc").ok());
  auto lease = granted(inv.requestLease(job(2), "client"));
  store.apply(inv.takeChanges());

  clock.now += 100s;
  Inventory back(config, clock.fn());
  back.restore(store.snapshot());
  clock.now += 2s;
  CHECK(back.heartbeat("chatty", "rc2"));
  CHECK(back.expire().messages.empty());  // within the grace period
  clock.now += 2s;
  auto e = back.expire();
  CHECK(revoked(e) == std::vector<uint64_t>{lease.job_id});
  // quiet's route and the client's are not known since the restart.
  CHECK(routesOf<wire::RevokeMsg>(e) == std::vector<std::string>{"rc2", "", ""});
}

TEST_CASE("a restored worker takes new leases only once its heartbeat gave it a route") {
  Cluster c(1, 2);
  FakeStore store;
  granted(c.inv->requestLease(job(1), "a"));
  store.apply(c.inv->takeChanges());
  Inventory back(c.config, c.clock.fn(), c.wall.fn());
  back.restore(store.snapshot());
  uint64_t early = queued(back.requestLease(job(1), "early"));  // a device is free, but its grant could not be sent
  CHECK(back.expire().messages.empty());
  CHECK(back.heartbeat("w0", "w0-now"));
  auto routed = back.expire();
  CHECK(started(routed) == std::vector<uint64_t>{early});
  CHECK(routesOf<wire::GrantMsg>(routed) == std::vector<std::string>{"w0-now"});
}

TEST_CASE("a grow may not take devices the first queued job is waiting for") {
  Cluster c(1, 4);
  auto small = granted(c.inv->requestLease(job(1), "a"));        // no time limit
  auto other = granted(c.inv->requestLease(job(2, 0, 100), "b"));  // ends by t=100
  uint64_t head = queued(c.inv->requestLease(job(3), "head"));     // reserved for t=100: the free one + b's two
  auto grow = c.inv->resize(small.job_id, 2);
  REQUIRE_FALSE(grow.ok());
  CHECK(grow.error().message.find("delay queued job " + std::to_string(head)) != std::string::npos);
  // b may grow: it gives everything back by t=100 anyway.
  REQUIRE(c.inv->resize(other.job_id, 3).ok());
}

TEST_CASE("a restored queued job starts only once its client's keepalive gave it a route") {
  Cluster c(1, 1);
  FakeStore store;
  auto running = granted(c.inv->requestLease(job(1), "a"));
  uint64_t waiting = queued(c.inv->requestLease(job(1), "b"));
  store.apply(c.inv->takeChanges());
  Inventory back(c.config, c.clock.fn(), c.wall.fn());
  back.restore(store.snapshot());
  CHECK(back.heartbeat("w0", "w0-now"));
  CHECK(back.keepalive(running.job_id, "a-now"));
  auto freed = back.release(running.job_id, "a-now");
  REQUIRE(freed);
  CHECK(started(*freed).empty());  // its lease would go nowhere
  wire::StatusMsg s = back.status();
  CHECK(s.queue[0].reason.find("keepalive") != std::string::npos);
  CHECK(back.keepalive(waiting, "b-now"));
  auto e = back.expire();
  CHECK(started(e) == std::vector<uint64_t>{waiting});
  CHECK(routesOf<wire::LeaseMsg>(e) == std::vector<std::string>{"b-now"});
}

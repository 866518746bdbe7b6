#include <catch2/catch.hpp>

#include <set>

#include "scheduler/inventory.h"
#include "scheduler/placement.h"

using moai::sched::Clock;
using moai::sched::Inventory;
using moai::sched::InventoryConfig;
using moai::schema::Placement;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  Clock::time_point now{};
  std::function<Clock::time_point()> fn() {
    return [this] { return now; };
  }
};

moai::wire::RegisterMsg worker(const std::string& id, int devices, const char* kind = "cpu") {
  moai::wire::RegisterMsg m{id, {"tcp://" + id + ":7000"}, {}};
  for (int i = 0; i < devices; ++i) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    std::snprintf(p.kind, sizeof p.kind, "%s", kind);
    m.devices.push_back(p);
  }
  return m;
}

moai::wire::LeaseRequestMsg want(uint32_t devices, std::string kind = "", Placement placement = Placement::UNSET) {
  return {devices, std::move(kind), "alice", placement};
}

std::multiset<std::string> workersOf(const moai::wire::LeaseEntry& lease) {
  std::multiset<std::string> out;
  for (auto& d : lease.devices) out.insert(d.worker_id);
  return out;
}

}  // namespace

TEST_CASE("pack takes the fewest workers and fits the rest tightly") {
  using moai::sched::choosePlacement;
  CHECK(*choosePlacement({2, 8, 4}, 3, Placement::PACK) == std::vector<uint32_t>{0, 0, 3});
  CHECK(*choosePlacement({2, 8, 4}, 10, Placement::PACK) == std::vector<uint32_t>{2, 8, 0});
  CHECK(*choosePlacement({2, 8, 4}, 11, Placement::PACK) == std::vector<uint32_t>{0, 8, 3});
  CHECK(*choosePlacement({3, 3}, 3, Placement::PACK) == std::vector<uint32_t>{3, 0});
  CHECK_FALSE(choosePlacement({2, 8, 4}, 15, Placement::PACK));
  CHECK_FALSE(choosePlacement({}, 1, Placement::PACK));
}

TEST_CASE("spread takes one device per worker, round after round") {
  using moai::sched::choosePlacement;
  CHECK(*choosePlacement({4, 1, 1}, 3, Placement::SPREAD) == std::vector<uint32_t>{1, 1, 1});
  CHECK(*choosePlacement({4, 1, 1}, 5, Placement::SPREAD) == std::vector<uint32_t>{3, 1, 1});
  CHECK(*choosePlacement({1, 3, 2}, 2, Placement::SPREAD) == std::vector<uint32_t>{0, 1, 1});
  CHECK_FALSE(choosePlacement({1, 1}, 3, Placement::SPREAD));
}

TEST_CASE("a lease takes free devices of the asked kind and release returns them") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  REQUIRE(inv.registerWorker(worker("w1", 2, "cpu"), "r1").ok());
  REQUIRE(inv.registerWorker(worker("w2", 2, "h100"), "r2").ok());

  auto g = inv.requestLease(want(2, "h100"), "client");
  REQUIRE(g.ok());
  CHECK(g->lease.job_id != 0);
  CHECK(g->lease.token.size() == 64);
  CHECK(workersOf(g->lease) == std::multiset<std::string>{"w2", "w2"});
  CHECK(g->lease.devices[0].endpoints == std::vector<std::string>{"tcp://w2:7000"});
  CHECK(g->worker_routes == std::vector<std::string>{"r2"});

  auto none = inv.requestLease(want(1, "h100"), "client");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == MODNN_ERR_OUT_OF_MEMORY);

  auto ended = inv.release(g->lease.job_id);
  REQUIRE(ended);
  CHECK(ended->worker_routes == std::vector<std::string>{"r2"});
  CHECK_FALSE(inv.release(g->lease.job_id));
  CHECK(inv.requestLease(want(2, "h100"), "client").ok());
  CHECK(inv.requestLease(want(2), "client").ok());  // any kind: the cpu ones are left
  CHECK_FALSE(inv.requestLease(want(1), "client").ok());
}

TEST_CASE("placement: pack by default, spread on request") {
  FakeClock clock;
  InventoryConfig config;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("a", 2), "ra").ok());
  REQUIRE(inv.registerWorker(worker("b", 4), "rb").ok());
  REQUIRE(inv.registerWorker(worker("c", 2), "rc").ok());

  auto packed = inv.requestLease(want(4), "client");
  REQUIRE(packed.ok());
  CHECK(workersOf(packed->lease) == std::multiset<std::string>{"b", "b", "b", "b"});
  auto spread = inv.requestLease(want(2, "", Placement::SPREAD), "client");
  REQUIRE(spread.ok());
  CHECK(workersOf(spread->lease) == std::multiset<std::string>{"a", "c"});
  CHECK(spread->worker_routes.size() == 2);

  auto status = inv.status();
  REQUIRE(status.workers.size() == 3);
  CHECK(status.workers[1].leased == 4);
  REQUIRE(status.jobs.size() == 2);
  for (auto& job : status.jobs) CHECK(job.token.empty());
}

TEST_CASE("tokens are 64 hex digits and differ per lease") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  REQUIRE(inv.registerWorker(worker("w", 8), "r").ok());
  std::set<std::string> tokens;
  for (int i = 0; i < 8; ++i) {
    auto g = inv.requestLease(want(1), "client");
    REQUIRE(g.ok());
    CHECK(g->lease.token.find_first_not_of("0123456789abcdef") == std::string::npos);
    tokens.insert(g->lease.token);
  }
  CHECK(tokens.size() == 8);
}

TEST_CASE("a lease without keepalives ends after the client timeout") {
  FakeClock clock;
  InventoryConfig config;
  config.client_timeout = 10s;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("w", 2), "rw").ok());
  auto g = inv.requestLease(want(2), "client");
  REQUIRE(g.ok());

  for (int i = 0; i < 5; ++i) {  // keepalives (and heartbeats) keep it for longer than the timeout
    clock.now += 4s;
    CHECK(inv.keepalive(g->lease.job_id, "client2"));
    CHECK(inv.heartbeat("w", "rw"));
    CHECK(inv.expire().ended.empty());
  }
  clock.now += 2s;
  CHECK(inv.heartbeat("w", "rw"));
  clock.now += 9s;
  CHECK(inv.heartbeat("w", "rw"));
  auto expired = inv.expire();
  REQUIRE(expired.ended.size() == 1);
  CHECK(expired.ended[0].job_id == g->lease.job_id);
  CHECK(expired.ended[0].client_route == "client2");  // the route of the latest keepalive
  CHECK(expired.ended[0].worker_routes == std::vector<std::string>{"rw"});
  CHECK(expired.dead_workers.empty());
  CHECK_FALSE(inv.keepalive(g->lease.job_id, "client2"));
  CHECK(inv.requestLease(want(2), "client").ok());
}

TEST_CASE("a silent worker is declared dead and its leases end everywhere") {
  FakeClock clock;
  InventoryConfig config;
  config.heartbeat_timeout = 3s;
  config.forget_dead_after = 60s;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("a", 1), "ra").ok());
  REQUIRE(inv.registerWorker(worker("b", 1), "rb").ok());
  auto g = inv.requestLease(want(2), "client");
  REQUIRE(g.ok());

  clock.now += 2s;
  CHECK(inv.heartbeat("b", "rb2"));  // a reconnected worker: grants and revokes follow the new route
  CHECK(inv.keepalive(g->lease.job_id, "client"));
  clock.now += 2s;
  auto expired = inv.expire();
  CHECK(expired.dead_workers == std::vector<std::string>{"a"});
  REQUIRE(expired.ended.size() == 1);
  CHECK(expired.ended[0].job_id == g->lease.job_id);
  CHECK(expired.ended[0].client_route == "client");
  CHECK(expired.ended[0].worker_routes == std::vector<std::string>{"ra", "rb2"});

  // b's device is free again; a's is not leasable, and a must register again.
  auto only_b = inv.requestLease(want(1), "client");
  REQUIRE(only_b.ok());
  CHECK(only_b->lease.devices[0].worker_id == "b");
  CHECK_FALSE(inv.heartbeat("a", "ra"));
  CHECK_FALSE(inv.heartbeat("nobody", "rx"));
  auto status = inv.status();
  REQUIRE(status.workers.size() == 2);
  CHECK_FALSE(status.workers[0].alive);

  REQUIRE(inv.registerWorker(worker("a", 1), "ra2").ok());
  CHECK(inv.heartbeat("a", "ra2"));
  CHECK(inv.requestLease(want(1), "client").ok());
}

TEST_CASE("a long-dead worker is forgotten") {
  FakeClock clock;
  InventoryConfig config;
  config.heartbeat_timeout = 3s;
  config.forget_dead_after = 60s;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("a", 1), "ra").ok());
  clock.now += 4s;
  CHECK(inv.expire().dead_workers.size() == 1);
  clock.now += 50s;
  inv.expire();
  CHECK(inv.status().workers.size() == 1);
  clock.now += 10s;
  inv.expire();
  CHECK(inv.status().workers.empty());
}

TEST_CASE("registering again (a restarted worker) ends the leases on it") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  REQUIRE(inv.registerWorker(worker("w", 2), "old").ok());
  auto g = inv.requestLease(want(1), "client");
  REQUIRE(g.ok());
  auto ended = inv.registerWorker(worker("w", 4), "new");
  REQUIRE(ended.ok());
  REQUIRE(ended->size() == 1);
  CHECK((*ended)[0].job_id == g->lease.job_id);
  CHECK((*ended)[0].worker_routes == std::vector<std::string>{"old"});
  CHECK(inv.status().jobs.empty());
  auto all = inv.requestLease(want(4), "client");
  REQUIRE(all.ok());
  CHECK(all->worker_routes == std::vector<std::string>{"new"});
}

TEST_CASE("the worker table is bounded") {
  FakeClock clock;
  InventoryConfig config;
  config.max_workers = 2;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("a", 1), "ra").ok());
  REQUIRE(inv.registerWorker(worker("b", 1), "rb").ok());
  auto third = inv.registerWorker(worker("c", 1), "rc");
  REQUIRE_FALSE(third.ok());
  CHECK(third.error().code == MODNN_ERR_NOT_PERMITTED);
  CHECK(inv.registerWorker(worker("a", 1), "ra").ok());  // a known id may always come back
}

#include <catch2/catch.hpp>

#include <set>

#include "scheduler/placement.h"
#include "scheduler_test_helpers.h"

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
  auto lease = granted(g);
  CHECK(lease.job_id != 0);
  CHECK(lease.token.size() == 64);
  CHECK(workersOf(lease) == std::multiset<std::string>{"w2", "w2"});
  CHECK(lease.devices[0].endpoints == std::vector<std::string>{"tcp://w2:7000"});
  CHECK(routesOf<moai::wire::GrantMsg>(*g) == std::vector<std::string>{"r2"});
  CHECK(g->messages.back().route == "client");  // grants first, then the lease

  uint64_t waiting = queued(inv.requestLease(want(1, "h100"), "client2"));
  auto ended = inv.release(lease.job_id, "client");
  REQUIRE(ended);
  CHECK(routesOf<moai::wire::RevokeMsg>(*ended) == std::vector<std::string>{"r2"});
  CHECK(routesOf<moai::wire::ReleasedMsg>(*ended) == std::vector<std::string>{"client"});
  CHECK(started(*ended) == std::vector<uint64_t>{waiting});  // the freed device goes to the queue
  CHECK(routesOf<moai::wire::LeaseMsg>(*ended) == std::vector<std::string>{"client2"});
  CHECK_FALSE(inv.release(lease.job_id, "client"));
}

TEST_CASE("device kinds: alternation and minimum memory") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  auto small = worker("small", 1, "a100");
  small.devices[0].total_memory = 40ull << 30;
  auto big = worker("big", 1, "h100");
  big.devices[0].total_memory = 80ull << 30;
  REQUIRE(inv.registerWorker(small, "rs").ok());
  REQUIRE(inv.registerWorker(big, "rb").ok());
  REQUIRE(inv.registerWorker(worker("cpu", 4, "cpu"), "rc").ok());

  auto either = want(2, "h100|a100");
  CHECK(workersOf(granted(inv.requestLease(either, "c"))) == std::multiset<std::string>{"big", "small"});
  auto roomy = want(1, "v100|h100|a100");
  roomy.min_memory_per_device = 64ull << 30;
  auto r = inv.requestLease(roomy, "c");
  REQUIRE(r.ok());
  CHECK(started(*r).empty());  // queued: the 80 GiB one is taken
  // Never satisfiable: an error, not an eternal queue.
  roomy.devices = 2;
  auto never = inv.requestLease(roomy, "c");
  REQUIRE_FALSE(never.ok());
  CHECK(never.error().code == MODNN_ERR_OUT_OF_MEMORY);
  CHECK_FALSE(inv.requestLease(want(5, "cpu"), "c").ok());
  CHECK_FALSE(inv.requestLease(want(1, "tpu"), "c").ok());
}

TEST_CASE("placement: pack by default, spread on request") {
  FakeClock clock;
  InventoryConfig config;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("a", 2), "ra").ok());
  REQUIRE(inv.registerWorker(worker("b", 4), "rb").ok());
  REQUIRE(inv.registerWorker(worker("c", 2), "rc").ok());

  CHECK(workersOf(granted(inv.requestLease(want(4), "client"))) == std::multiset<std::string>{"b", "b", "b", "b"});
  auto spread = inv.requestLease(want(2, "", Placement::SPREAD), "client");
  CHECK(workersOf(granted(spread)) == std::multiset<std::string>{"a", "c"});
  CHECK(routesOf<moai::wire::GrantMsg>(*spread).size() == 2);

  auto status = inv.status();
  REQUIRE(status.workers.size() == 3);
  CHECK(status.workers[1].leased == 4);
  REQUIRE(status.workers[1].device_list.size() == 4);
  CHECK(status.workers[1].device_list[0].job_id != 0);
  REQUIRE(status.jobs.size() == 2);
  for (auto& job : status.jobs) CHECK(job.token.empty());
  CHECK(status.queue.size() == 2);
}

TEST_CASE("tokens are 64 hex digits and differ per lease") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  REQUIRE(inv.registerWorker(worker("w", 8), "r").ok());
  std::set<std::string> tokens;
  for (int i = 0; i < 8; ++i) {
    auto lease = granted(inv.requestLease(want(1), "client"));
    CHECK(lease.token.find_first_not_of("0123456789abcdef") == std::string::npos);
    tokens.insert(lease.token);
  }
  CHECK(tokens.size() == 8);
}

TEST_CASE("a lease without keepalives ends after the client timeout") {
  FakeClock clock;
  InventoryConfig config;
  config.client_timeout = 10s;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("w", 2), "rw").ok());
  auto lease = granted(inv.requestLease(want(2), "client"));

  for (int i = 0; i < 5; ++i) {  // keepalives (and heartbeats) keep it for longer than the timeout
    clock.now += 4s;
    CHECK(inv.keepalive(lease.job_id, "client2"));
    CHECK(inv.heartbeat("w", "rw"));
    CHECK(inv.expire().messages.empty());
  }
  clock.now += 2s;
  CHECK(inv.heartbeat("w", "rw"));
  clock.now += 9s;
  CHECK(inv.heartbeat("w", "rw"));
  auto expired = inv.expire();
  CHECK(revoked(expired) == std::vector<uint64_t>{lease.job_id});
  // To the worker and the route of the latest keepalive.
  CHECK(routesOf<moai::wire::RevokeMsg>(expired) == std::vector<std::string>{"rw", "client2"});
  CHECK_FALSE(inv.keepalive(lease.job_id, "client2"));
  granted(inv.requestLease(want(2), "client"));
}

TEST_CASE("a silent worker is declared dead and its leases end everywhere") {
  FakeClock clock;
  InventoryConfig config;
  config.heartbeat_timeout = 3s;
  config.forget_dead_after = 60s;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("a", 1), "ra").ok());
  REQUIRE(inv.registerWorker(worker("b", 1), "rb").ok());
  auto lease = granted(inv.requestLease(want(2), "client"));

  clock.now += 2s;
  CHECK(inv.heartbeat("b", "rb2"));  // a reconnected worker: grants and revokes follow the new route
  CHECK(inv.keepalive(lease.job_id, "client"));
  clock.now += 2s;
  auto expired = inv.expire();
  CHECK(revoked(expired) == std::vector<uint64_t>{lease.job_id});
  CHECK(routesOf<moai::wire::RevokeMsg>(expired) == std::vector<std::string>{"ra", "rb2", "client"});

  // b's device is free again; a's is not leasable, and a must register again.
  CHECK(granted(inv.requestLease(want(1), "client")).devices[0].worker_id == "b");
  CHECK_FALSE(inv.heartbeat("a", "ra"));
  CHECK_FALSE(inv.heartbeat("nobody", "rx"));
  auto status = inv.status();
  REQUIRE(status.workers.size() == 2);
  CHECK_FALSE(status.workers[0].alive);

  REQUIRE(inv.registerWorker(worker("a", 1), "ra2").ok());
  CHECK(inv.heartbeat("a", "ra2"));
  granted(inv.requestLease(want(1), "client"));
}

TEST_CASE("a long-dead worker is forgotten") {
  FakeClock clock;
  InventoryConfig config;
  config.heartbeat_timeout = 3s;
  config.forget_dead_after = 60s;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("a", 1), "ra").ok());
  clock.now += 4s;
  CHECK(inv.expire().events.size() == 1);
  clock.now += 50s;
  inv.expire();
  CHECK(inv.status().workers.size() == 1);
  clock.now += 10s;
  inv.expire();
  CHECK(inv.status().workers.empty());
  CHECK(inv.takeChanges().workers_gone == std::vector<std::string>{"a"});
}

TEST_CASE("registering again (a restarted worker) ends the leases on it") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  REQUIRE(inv.registerWorker(worker("w", 2), "old").ok());
  auto lease = granted(inv.requestLease(want(1), "client"));
  auto again = inv.registerWorker(worker("w", 4), "new");
  REQUIRE(again.ok());
  CHECK(revoked(*again) == std::vector<uint64_t>{lease.job_id});
  CHECK(routesOf<moai::wire::RevokeMsg>(*again) == std::vector<std::string>{"old", "client"});
  CHECK(inv.status().jobs.empty());
  auto all = inv.requestLease(want(4), "client");
  granted(all);
  CHECK(routesOf<moai::wire::GrantMsg>(*all) == std::vector<std::string>{"new"});
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

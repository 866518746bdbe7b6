// Colocation in the live scheduler: shareable jobs with a memory prediction
// share devices while their quotas fit, chosen by FGD; quotas grow with the
// client's reports when the device has room; everything else is whole.
#include <catch2/catch.hpp>

#include "scheduler_test_helpers.h"

namespace {

constexpr uint64_t MiB = 1ull << 20;

moai::wire::LeaseRequestMsg shared(uint64_t predicted, uint32_t devices = 1) {
  auto m = want(devices);
  m.shareable = true;
  m.predicted_memory = predicted;
  return m;
}

// (worker, index) of a one-device lease.
std::pair<std::string, uint32_t> where(const moai::wire::LeaseEntry& lease) {
  REQUIRE(lease.devices.size() == 1);
  return {lease.devices[0].worker_id, lease.devices[0].index};
}

}  // namespace

TEST_CASE("shareable jobs share a device while their quotas fit, then open another") {
  FakeClock clock;
  InventoryConfig config;
  config.share_headroom = 0.25;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("w1", 2), "r1").ok());  // 1 GiB devices

  auto a = granted(inv.requestLease(shared(300 * MiB), "ca"));
  CHECK(a.memory_quota == 375 * MiB);  // 300 MiB + 25%
  auto b = granted(inv.requestLease(shared(300 * MiB), "cb"));
  CHECK(where(b) == where(a));  // the device in use first
  auto c = granted(inv.requestLease(shared(300 * MiB), "cc"));
  CHECK(where(c) != where(a));  // 3 x 375 MiB > 1 GiB
  // An exclusive job finds no free device now: both are shared.
  uint64_t whole = queued(inv.requestLease(want(1), "cw"));

  auto status = inv.status();
  auto& dev = status.workers[0].device_list[where(a).second];
  CHECK(dev.sharers == std::vector<uint64_t>{a.job_id, b.job_id});
  CHECK(dev.reserved_memory == 750 * MiB);
  CHECK(status.workers[0].leased == 2);

  // The device frees only when its last sharer ends.
  auto ended = inv.release(a.job_id, "ca");
  REQUIRE(ended);
  CHECK(started(*ended).empty());
  ended = inv.release(c.job_id, "cc");
  REQUIRE(ended);
  CHECK(started(*ended) == std::vector<uint64_t>{whole});
}

TEST_CASE("a shareable job without a prediction, or one that fits nowhere shared, takes a whole device") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  REQUIRE(inv.registerWorker(worker("w1", 2), "r1").ok());
  auto unknown = granted(inv.requestLease(shared(0), "c1"));
  CHECK(unknown.memory_quota == 0);
  auto big = granted(inv.requestLease(shared(2ull << 30), "c2"));  // more than a device: whole
  CHECK(big.memory_quota == 0);
  CHECK(where(big) != where(unknown));
  // Nothing left to share or take.
  queued(inv.requestLease(shared(100 * MiB), "c3"));
}

TEST_CASE("FGD picks the shared device where fragmentation grows least") {
  FakeClock clock;
  InventoryConfig config;
  config.share_headroom = 0;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("w1", 2), "r1").ok());  // 1024 MiB each
  auto a = granted(inv.requestLease(shared(500 * MiB), "ca"));  // leaves 524 MiB
  auto b = granted(inv.requestLease(shared(800 * MiB), "cb"));  // does not fit beside a: leaves 224 MiB
  REQUIRE(where(a) != where(b));
  // Workload {500, 800, 200} MiB. Beside a, 324 MiB would be left, too
  // little for two of the three classes: fragmentation grows. Beside b the
  // 224 MiB hole, already useless to 500 and 800, is used up: it shrinks.
  auto c = granted(inv.requestLease(shared(200 * MiB), "cc"));
  CHECK(where(c) == where(b));
  // Then 300 MiB fits only beside a.
  auto d = granted(inv.requestLease(shared(300 * MiB), "cd"));
  CHECK(where(d) == where(a));
  for (auto& dev : inv.status().workers[0].device_list) CHECK(dev.reserved_memory <= dev.total_memory);
}

TEST_CASE("memory reports raise a shared job's quota when its device has room") {
  FakeClock clock;
  InventoryConfig config;
  config.share_headroom = 0;
  Inventory inv(config, clock.fn());
  REQUIRE(inv.registerWorker(worker("w1", 1), "r1").ok());
  auto a = granted(inv.requestLease(shared(200 * MiB), "ca"));
  auto b = granted(inv.requestLease(shared(500 * MiB), "cb"));
  REQUIRE(where(a) == where(b));

  auto grown = inv.memoryReport({a.job_id, 400 * MiB, 150 * MiB}, "ca");
  REQUIRE(grown);
  auto quotas = sent<moai::wire::QuotaMsg>(*grown);
  REQUIRE(quotas.size() == 2);  // its worker, then its client
  CHECK(quotas[0].first == "r1");
  CHECK(quotas[1].first == "ca");
  CHECK(quotas[0].second.bytes == 400 * MiB);

  auto refused = inv.memoryReport({a.job_id, 600 * MiB, 150 * MiB}, "ca");  // 600 + 500 > 1024
  REQUIRE(refused);
  CHECK(sent<moai::wire::QuotaMsg>(*refused).empty());
  CHECK(inv.status().workers[0].device_list[0].reserved_memory == 900 * MiB);
  auto job = inv.status().queue;
  CHECK(std::any_of(job.begin(), job.end(), [&](auto& j) { return j.job_id == a.job_id && j.memory_quota == 400 * MiB; }));
  CHECK_FALSE(inv.memoryReport({999, 1, 1}, "ca"));
  CHECK_FALSE(inv.memoryReport({b.job_id, 900 * MiB, 1}, "ca"));  // another job's client may not speak for it
}

TEST_CASE("a restored scheduler keeps shared leases shared") {
  FakeClock clock;
  Inventory inv(InventoryConfig{}, clock.fn());
  REQUIRE(inv.registerWorker(worker("w1", 1), "r1").ok());
  auto a = granted(inv.requestLease(shared(100 * MiB), "ca"));
  auto b = granted(inv.requestLease(shared(100 * MiB), "cb"));
  moai::sched::Snapshot snap;
  auto changes = inv.takeChanges();
  for (auto& w : changes.workers) snap.workers.push_back(w);
  snap.jobs = changes.jobs;
  snap.usage = changes.usage;
  snap.next_job_id = changes.next_job_id;

  Inventory again(InventoryConfig{}, clock.fn());
  again.restore(snap);
  auto dev = again.status().workers[0].device_list[0];
  CHECK(dev.sharers == std::vector<uint64_t>{a.job_id, b.job_id});
  CHECK(dev.reserved_memory == 2 * a.memory_quota);
}

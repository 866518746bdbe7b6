// Billing: per-minute usage records (leased and busy device-seconds per job,
// minute and device kind), their prices, and their persistence, on fake
// clocks. Each job's totals must be the sums of its minute records.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "scheduler/state_store.h"
#include "scheduler/usage_meter.h"
#include "scheduler_test_helpers.h"

using moai::sched::PriceTable;
using moai::sched::Snapshot;
using moai::sched::StateStore;
using moai::sched::UsageMeter;
namespace wire = moai::wire;

namespace {

constexpr double kMinute0 = 1.7e9 - 20;  // 1,699,999,980: a minute boundary

struct Billing {
  FakeClock clock;
  FakeWall wall;
  InventoryConfig config;
  std::unique_ptr<Inventory> inv;
  Billing() {
    config.client_timeout = 10000s;
    config.heartbeat_timeout = 10000s;
    config.prices.per_kind = {{"h100", 0.06}, {"cpu", 0.001}};
    config.prices.default_price = 0.5;
    wall.now = kMinute0;
    inv = std::make_unique<Inventory>(config, clock.fn(), wall.fn());
  }
  void advance(double s) {
    clock.now += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    wall.now += s;
  }
  // A heartbeat from `worker` with job counters.
  void busy(const std::string& worker, std::vector<std::pair<uint64_t, double>> jobs) {
    wire::HeartbeatMsg h;
    h.worker_id = worker;
    h.job_busy = std::move(jobs);
    REQUIRE(inv->heartbeat(worker, "r-" + worker));
    inv->reportJobBusy(h);
  }
};

const wire::UsageEntry& record(const wire::UsageMsg& u, uint64_t job) {
  for (auto& r : u.records)
    if (r.job_id == job) return r;
  FAIL("no usage record of job " << job);
  return u.records.front();
}

// Leased, busy, cost of a job's minute records, summed.
wire::UsageEntry sumOfMinutes(const wire::UsageMsg& u, uint64_t job) {
  wire::UsageEntry sum;
  sum.busy_seconds = 0;
  for (auto& m : u.minutes)
    if (m.job_id == job) {
      sum.leased_device_seconds += m.leased_device_seconds;
      sum.busy_seconds += m.busy_seconds;
      sum.cost += m.cost;
    }
  return sum;
}

void checkTotals(const wire::UsageMsg& u, uint64_t job) {
  auto& r = record(u, job);
  auto sum = sumOfMinutes(u, job);
  CHECK(r.leased_device_seconds == Approx(sum.leased_device_seconds).margin(1e-9));
  CHECK(std::max(0.0, r.busy_seconds) == Approx(sum.busy_seconds).margin(1e-9));
  CHECK(r.cost == Approx(sum.cost).margin(1e-12));
}

std::map<std::pair<int64_t, std::string>, wire::UsageMinuteEntry> byMinute(const wire::UsageMsg& u, uint64_t job) {
  std::map<std::pair<int64_t, std::string>, wire::UsageMinuteEntry> out;
  for (auto& m : u.minutes)
    if (m.job_id == job) out[{m.minute_start - int64_t(kMinute0), m.kind}] = m;
  return out;
}

}  // namespace

TEST_CASE("leased time splits at minute boundaries; busy time goes to the minute its heartbeat arrived") {
  Billing b;
  REQUIRE(b.inv->registerWorker(worker("w0", 2, "h100"), "r-w0").ok());
  b.advance(30);  // the lease starts half-way through minute 0
  auto lease = granted(b.inv->requestLease(job(2), "client"));
  b.advance(40);  // minute 1, 10 s in
  b.busy("w0", {{lease.job_id, 12}});
  b.advance(60);  // minute 2, 10 s in
  b.busy("w0", {{lease.job_id, 30}});
  b.busy("w0", {{lease.job_id, 25}});  // a late heartbeat: counters only grow
  b.advance(5);
  REQUIRE(b.inv->release(lease.job_id, "client"));
  b.advance(100);  // after the end nothing more is counted

  auto u = b.inv->usage();
  auto m = byMinute(u, lease.job_id);
  REQUIRE(m.size() == 3);
  CHECK(m[{0, "h100"}].leased_device_seconds == Approx(2 * 30));
  CHECK(m[{0, "h100"}].busy_seconds == 0);
  CHECK(m[{60, "h100"}].leased_device_seconds == Approx(2 * 60));
  CHECK(m[{60, "h100"}].busy_seconds == Approx(12));
  CHECK(m[{60, "h100"}].cost == Approx(12.0 / 60 * 0.06));
  CHECK(m[{120, "h100"}].leased_device_seconds == Approx(2 * 15));
  CHECK(m[{120, "h100"}].busy_seconds == Approx(18));
  CHECK(m[{120, "h100"}].cost == Approx(18.0 / 60 * 0.06));
  auto& r = record(u, lease.job_id);
  CHECK(r.leased_device_seconds == Approx(2 * 105));
  CHECK(r.busy_seconds == Approx(30));
  CHECK(r.cost == Approx(30.0 / 60 * 0.06));
  checkTotals(u, lease.job_id);
}

TEST_CASE("a job that sleeps while leased pays nothing; its leased time is still counted") {
  Billing b;
  REQUIRE(b.inv->registerWorker(worker("w0", 1, "h100"), "r-w0").ok());
  auto lease = granted(b.inv->requestLease(job(1), "client"));
  for (int i = 0; i < 150; ++i) {
    b.advance(1);
    b.busy("w0", {{lease.job_id, 0}});
    b.inv->expire();  // rolls each finished minute into the record
  }
  auto u = b.inv->usage();
  auto& r = record(u, lease.job_id);
  CHECK(r.leased_device_seconds == Approx(150));
  CHECK(r.busy_seconds < 0);  // no work reported at all
  CHECK(r.cost == 0);
  CHECK(byMinute(u, lease.job_id).size() == 3);
  checkTotals(u, lease.job_id);
}

TEST_CASE("prices go by device kind: each kind's minutes at its price, unlisted kinds at the default") {
  Billing b;
  REQUIRE(b.inv->registerWorker(worker("wa", 1, "h100"), "r-wa").ok());
  REQUIRE(b.inv->registerWorker(worker("wb", 2, "a100"), "r-wb").ok());
  auto lease = granted(b.inv->requestLease(job(3, 0, 0, "h100|a100"), "client"));
  b.advance(10);
  b.busy("wa", {{lease.job_id, 6}});
  b.busy("wb", {{lease.job_id, 12}});  // two a100s there: 12 device-seconds between them
  b.advance(10);
  auto u = b.inv->usage();
  auto m = byMinute(u, lease.job_id);
  REQUIRE(m.size() == 2);
  CHECK(m[{0, "h100"}].leased_device_seconds == Approx(20));
  CHECK(m[{0, "a100"}].leased_device_seconds == Approx(40));
  CHECK(m[{0, "h100"}].cost == Approx(6.0 / 60 * 0.06));
  CHECK(m[{0, "a100"}].cost == Approx(12.0 / 60 * 0.5));
  CHECK(record(u, lease.job_id).busy_seconds == Approx(18));
  checkTotals(u, lease.job_id);
}

TEST_CASE("after a restart the workers' counters are not billed twice") {
  Billing b;
  REQUIRE(b.inv->registerWorker(worker("w0", 1, "cpu"), "r-w0").ok());
  REQUIRE(b.inv->registerWorker(worker("w1", 1, "cpu"), "r-w1").ok());
  auto lease = granted(b.inv->requestLease(job(2), "client"));
  b.advance(10);
  b.busy("w0", {{lease.job_id, 4}});
  b.busy("w1", {{lease.job_id, 6}});
  Snapshot saved;
  {
    auto c = b.inv->takeChanges();
    saved.workers = c.workers;
    saved.jobs = c.jobs;
    saved.usage = c.usage;
    saved.usage_minutes = c.usage_minutes;
    saved.next_job_id = c.next_job_id;
  }
  REQUIRE(saved.usage_minutes.size() == 1);

  Inventory back(b.config, b.clock.fn(), b.wall.fn());
  back.restore(saved);
  b.inv.reset();
  b.advance(70);  // minute 1
  auto beat = [&](const std::string& w, double s) {
    wire::HeartbeatMsg h;
    h.worker_id = w;
    h.job_busy = {{lease.job_id, s}};
    REQUIRE(back.heartbeat(w, "r-" + w));
    back.reportJobBusy(h);
  };
  beat("w0", 5);  // the sum of the counters known since the restart (5) is below the bill (10)
  CHECK(back.usage().records[0].busy_seconds == Approx(10));
  beat("w1", 8);  // 5 + 8: 3 more than billed
  auto u = back.usage();
  CHECK(u.records[0].busy_seconds == Approx(13));
  auto m = byMinute(u, lease.job_id);
  CHECK(m[{0, "cpu"}].busy_seconds == Approx(10));
  CHECK(m[{60, "cpu"}].busy_seconds == Approx(3));
  CHECK(m[{60, "cpu"}].cost == Approx(3.0 / 60 * 0.001));
  checkTotals(u, lease.job_id);
}

TEST_CASE("memory keeps a bounded number of minute records; every change still reaches the store") {
  Billing b;
  b.config.max_usage_minutes = 4;
  b.inv = std::make_unique<Inventory>(b.config, b.clock.fn(), b.wall.fn());
  REQUIRE(b.inv->registerWorker(worker("w0", 2, "cpu"), "r-w0").ok());
  auto runner = granted(b.inv->requestLease(job(1), "runner"));
  std::map<std::tuple<uint64_t, int64_t, std::string>, wire::UsageMinuteEntry> stored;
  auto store = [&] {
    for (auto& m : b.inv->takeChanges().usage_minutes) stored[{m.job_id, m.minute_start, m.kind}] = m;
  };
  for (int i = 0; i < 6; ++i) {  // short jobs, one per minute, beside a long-running one
    auto lease = granted(b.inv->requestLease(job(1), "c" + std::to_string(i)));
    b.advance(30);
    b.busy("w0", {{lease.job_id, 1}, {runner.job_id, double(i + 1)}});
    REQUIRE(b.inv->release(lease.job_id, "c" + std::to_string(i)));
    b.advance(30);
    b.inv->expire();
    store();
  }
  auto u = b.inv->usage();
  store();
  CHECK(u.minutes.size() <= 4);
  // The running job's latest minute is still in memory.
  bool latest = false;
  for (auto& m : u.minutes) latest |= m.job_id == runner.job_id && m.minute_start == int64_t(kMinute0) + 300;
  CHECK(latest);
  // The store has every minute of every job: 6 short ones, and the runner's 6.
  CHECK(stored.size() == 6 + 6);
  double leased = 0, busy = 0;
  for (auto& [key, m] : stored)
    if (std::get<0>(key) == runner.job_id) {
      leased += m.leased_device_seconds;
      busy += m.busy_seconds;
    }
  CHECK(leased == Approx(record(u, runner.job_id).leased_device_seconds));
  CHECK(busy == Approx(6));
}

TEST_CASE("the usage meter alone: exact minute splits, shares by device count, prices") {
  PriceTable prices{{{"h100", 0.06}}, 0.01};
  CHECK(prices.of("h100") == 0.06);
  CHECK(prices.of("mi300") == 0.01);
  UsageMeter meter(prices);
  auto added = meter.addLeased(7, kMinute0 + 59.5, kMinute0 + 181, {{"h100", 3}});
  CHECK(added.leased_device_seconds == Approx(3 * 121.5));
  auto minutes = meter.minutes(7);
  REQUIRE(minutes.size() == 4);
  CHECK(minutes[0].leased_device_seconds == Approx(1.5));
  CHECK(minutes[1].leased_device_seconds == Approx(180));
  CHECK(minutes[3].leased_device_seconds == Approx(3));
  CHECK(minutes[3].minute_start == int64_t(kMinute0) + 180);
  auto billed = meter.addBusy(7, kMinute0 + 200, 9, {{"h100", 2}, {"cpu", 1}});
  CHECK(billed.busy_seconds == Approx(9));
  CHECK(billed.cost == Approx(6.0 / 60 * 0.06 + 3.0 / 60 * 0.01));
  // A wall clock stepped back: into the job's latest minute, not an older one.
  meter.addBusy(7, kMinute0 - 600, 1, {{"h100", 1}});
  minutes = meter.minutes(7);
  REQUIRE(minutes.size() == 5);  // (180, cpu) joined
  CHECK(minutes.back().minute_start == int64_t(kMinute0) + 180);
  CHECK(minutes.back().kind == "h100");
  CHECK(minutes.back().busy_seconds == Approx(6 + 1));
  CHECK(meter.minutes(8).empty());
}

TEST_CASE("minute records and costs survive the state store") {
  char tmpl[] = "/tmp/moai-billing-XXXXXX";
  std::filesystem::path dir = mkdtemp(tmpl);
  std::string file = (dir / "state.db").string();
  Billing b;
  REQUIRE(b.inv->registerWorker(worker("w0", 1, "h100"), "r-w0").ok());
  auto lease = granted(b.inv->requestLease(job(1), "client"));
  b.advance(50);
  b.busy("w0", {{lease.job_id, 20}});
  b.advance(30);
  b.busy("w0", {{lease.job_id, 50}});
  {
    auto store = StateStore::open(file);
    REQUIRE(store.ok());
    b.inv->usage();  // counts the lease up to now
    REQUIRE((*store)->apply(b.inv->takeChanges()).ok());
  }
  auto before = b.inv->usage();
  auto store = StateStore::open(file);
  REQUIRE(store.ok());
  auto snapshot = (*store)->load();
  REQUIRE(snapshot.ok());
  Inventory back(b.config, b.clock.fn(), b.wall.fn());
  back.restore(std::move(*snapshot));
  auto after = back.usage();
  REQUIRE(after.minutes.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(after.minutes[i].minute_start == before.minutes[i].minute_start);
    CHECK(after.minutes[i].kind == "h100");
    CHECK(after.minutes[i].leased_device_seconds == before.minutes[i].leased_device_seconds);
    CHECK(after.minutes[i].busy_seconds == before.minutes[i].busy_seconds);
    CHECK(after.minutes[i].cost == before.minutes[i].cost);
  }
  CHECK(record(after, lease.job_id).cost == Approx(50.0 / 60 * 0.06));
  checkTotals(after, lease.job_id);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a version-1 state file is upgraded: usage keeps its rows and gains a cost, jobs a quota") {
  char tmpl[] = "/tmp/moai-billing-XXXXXX";
  std::filesystem::path dir = mkdtemp(tmpl);
  std::string file = (dir / "state.db").string();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                       "INSERT INTO meta VALUES ('schema_version', 1);"
                       "CREATE TABLE usage (job_id INTEGER PRIMARY KEY, user TEXT NOT NULL, devices INTEGER NOT NULL,"
                       " submit_time REAL NOT NULL, start_time REAL NOT NULL, end_time REAL NOT NULL,"
                       " leased_device_seconds REAL NOT NULL, counted_until REAL NOT NULL, busy_seconds REAL,"
                       " end_reason TEXT NOT NULL);"
                       "INSERT INTO usage VALUES (3, 'bob', 1, 10, 20, 80, 60, 80, 5, 'released by the client');"
                       "CREATE TABLE jobs (id INTEGER PRIMARY KEY, user TEXT NOT NULL, request BLOB NOT NULL,"
                       " state TEXT NOT NULL, token TEXT NOT NULL, submit_time REAL NOT NULL, start_time REAL NOT NULL,"
                       " resize_unconfirmed INTEGER NOT NULL);",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto store = StateStore::open(file);
  REQUIRE(store.ok());
  auto snapshot = (*store)->load();
  REQUIRE(snapshot.ok());
  REQUIRE(snapshot->usage.size() == 1);
  CHECK(snapshot->usage[0].entry.user == "bob");
  CHECK(snapshot->usage[0].entry.busy_seconds == 5);
  CHECK(snapshot->usage[0].entry.cost == 0);
  CHECK(snapshot->usage_minutes.empty());
  CHECK(snapshot->jobs.empty());
  store->reset();
  // The jobs table gained its column: a v2 row goes in.
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "INSERT INTO jobs VALUES (7, 'u', x'00', 'queued', '', 0, 0, 0, 0)", nullptr, nullptr,
                     nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto again = StateStore::open(file);  // now version 2
  REQUIRE(again.ok());
  std::filesystem::remove_all(dir);
}

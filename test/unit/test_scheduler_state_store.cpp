// The SQLite state store: what an Inventory changed goes in, a restarted
// Inventory comes back from it with the same jobs, leases, drains and usage.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "scheduler/state_store.h"
#include "scheduler_test_helpers.h"

using moai::sched::StateStore;
namespace wire = moai::wire;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/moai-state-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { if (!getenv("KEEP")) std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("the state store brings back workers, jobs, leases, drains, usage and job ids") {
  TempDir dir;
  std::string file = (dir.path / "state.db").string();
  FakeClock clock;
  FakeWall wall;
  InventoryConfig config;
  config.client_timeout = 100s;
  config.heartbeat_timeout = 100s;
  Inventory inv(config, clock.fn(), wall.fn());
  auto store = StateStore::open(file);
  REQUIRE(store.ok());
  REQUIRE(inv.registerWorker(worker("w0", 2), "r0").ok());
  REQUIRE(inv.registerWorker(worker("w1", 2), "r1").ok());
  auto lease = granted(inv.requestLease(job(3, 0, 600, "cpu"), "client"));
  REQUIRE((*store)->apply(inv.takeChanges()).ok());
  wire::LeaseRequestMsg big = job(4, 7);
  big.min_memory_per_device = 0;
  big.shareable = true;
  uint64_t waiting = queued(inv.requestLease(big, "waiter"));
  REQUIRE(inv.resize(lease.job_id, 2).ok());  // a shrink awaiting the client
  REQUIRE(inv.drain("w1", true).ok());
  queued(inv.requestLease(job(1), "short"));  // the free device is on the draining worker
  REQUIRE((*store)->apply(inv.takeChanges()).ok());
  wall.now += 10;
  clock.now += 10s;

  struct stat st {};
  REQUIRE(stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // it holds lease tokens

  store->reset();  // as after kill -9: nothing else is written
  auto again = StateStore::open(file);
  REQUIRE(again.ok());
  auto snapshot = (*again)->load();
  REQUIRE(snapshot.ok());
  CHECK(snapshot->workers.size() == 2);
  REQUIRE(snapshot->jobs.size() == 3);
  Inventory back(config, clock.fn(), wall.fn());
  back.restore(std::move(*snapshot));
  auto s = back.status();
  REQUIRE(s.workers.size() == 2);
  CHECK(s.workers[1].draining);
  REQUIRE(s.jobs.size() == 1);
  CHECK(s.jobs[0].job_id == lease.job_id);
  CHECK(s.jobs[0].devices.size() == 2);
  bool found = false;
  for (auto& j : s.queue)
    if (j.job_id == waiting) {
      found = true;
      CHECK_FALSE(j.running);
      CHECK(j.request.priority == 7);
      CHECK(j.request.shareable);
    } else if (j.job_id == lease.job_id) {
      CHECK(j.resize_pending);
      CHECK(j.request.time_limit_s == 600);
      CHECK(j.request.kind == "cpu");
    }
  CHECK(found);
  // The restored lease keeps its token: a confirmation frees the dropped device.
  auto confirmed = back.resized(lease.job_id);
  REQUIRE(confirmed.ok());
  CHECK(sent<wire::DropDevicesMsg>(*confirmed).size() + sent<wire::RevokeMsg>(*confirmed).size() == 1);
  auto usage = back.usage();
  REQUIRE(usage.records.size() == 1);
  CHECK(usage.records[0].leased_device_seconds == Approx(30));  // 3 devices (one dropping) for 10 s
  CHECK(queued(back.requestLease(job(4), "next")) == waiting + 2);
  REQUIRE((*again)->apply(back.takeChanges()).ok());
}

TEST_CASE("a state file from another schema version is refused") {
  TempDir dir;
  std::string file = (dir.path / "state.db").string();
  REQUIRE(StateStore::open(file).ok());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema_version'", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto refused = StateStore::open(file);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("version 99") != std::string::npos);
  CHECK_FALSE(StateStore::open((dir.path / "no" / "such" / "dir.db").string()).ok());
}

TEST_CASE("stored records that do not decode are skipped, not trusted") {
  TempDir dir;
  std::string file = (dir.path / "state.db").string();
  {
    auto store = StateStore::open(file);
    REQUIRE(store.ok());
    FakeClock clock;
    Inventory inv(InventoryConfig{}, clock.fn());
    REQUIRE(inv.registerWorker(worker("good", 1), "r").ok());
    REQUIRE((*store)->apply(inv.takeChanges()).ok());
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "INSERT INTO workers VALUES ('bad', x'00ff00ff', 0)", nullptr, nullptr, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "INSERT INTO jobs VALUES (5, 'u', x'0102', 'queued', '', 0, 0, 0, 0)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto store = StateStore::open(file);
  REQUIRE(store.ok());
  auto snapshot = (*store)->load();
  REQUIRE(snapshot.ok());
  REQUIRE(snapshot->workers.size() == 1);
  CHECK(snapshot->workers[0].registration.worker_id == "good");
  CHECK(snapshot->jobs.empty());
}

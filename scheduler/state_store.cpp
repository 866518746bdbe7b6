#include "state_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>

namespace moai::sched {
namespace {

// 2: usage.cost and usage_minutes (billing), jobs.memory_quota (shared
// devices). A version-1 file is upgraded in place; its jobs have no minute
// records for the time before, and hold whole devices.
constexpr int kSchemaVersion = 2;

// Registrations and requests are stored as the protocol's own messages, so
// loading them goes through the same validating decoder as the wire.
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY,
  registration BLOB NOT NULL,        -- scheduler.capnp ToScheduler.register
  draining INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices (  -- a readable copy of the registrations' devices
  worker_id TEXT NOT NULL, idx INTEGER NOT NULL, uuid BLOB NOT NULL, kind TEXT NOT NULL,
  name TEXT NOT NULL, total_memory INTEGER NOT NULL, PRIMARY KEY (worker_id, idx));
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  user TEXT NOT NULL,
  request BLOB NOT NULL,             -- scheduler.capnp ToScheduler.requestLease
  state TEXT NOT NULL,               -- 'queued' or 'running'
  token TEXT NOT NULL,
  submit_time REAL NOT NULL,
  start_time REAL NOT NULL,
  resize_unconfirmed INTEGER NOT NULL,   -- a leaseChanged awaits the client's `resized`
  memory_quota INTEGER NOT NULL);        -- bytes per device while sharing devices; 0 = whole devices
CREATE TABLE IF NOT EXISTS leases (
  job_id INTEGER NOT NULL, position INTEGER NOT NULL, worker_id TEXT NOT NULL, idx INTEGER NOT NULL,
  dropping INTEGER NOT NULL, PRIMARY KEY (job_id, position));
CREATE TABLE IF NOT EXISTS usage (
  job_id INTEGER PRIMARY KEY,
  user TEXT NOT NULL,
  devices INTEGER NOT NULL,
  submit_time REAL NOT NULL,
  start_time REAL NOT NULL,
  end_time REAL NOT NULL,            -- 0 while running
  leased_device_seconds REAL NOT NULL,
  counted_until REAL NOT NULL,       -- leased_device_seconds counts up to here
  busy_seconds REAL,                 -- metered device-seconds; NULL when no worker reported any
  end_reason TEXT NOT NULL,
  cost REAL NOT NULL DEFAULT 0);     -- the sum of the job's usage_minutes costs
CREATE TABLE IF NOT EXISTS usage_minutes (  -- scheduler/usage_meter.h
  job_id INTEGER NOT NULL,
  minute_start INTEGER NOT NULL,     -- Unix seconds, a multiple of 60
  kind TEXT NOT NULL,                -- device kind
  leased_device_seconds REAL NOT NULL,
  busy_seconds REAL NOT NULL,        -- reported by heartbeats that arrived in this minute
  cost REAL NOT NULL,
  PRIMARY KEY (job_id, minute_start, kind));
)";

bool validMinute(const wire::UsageMinuteEntry& m) {
  auto amount = [](double v) { return v >= 0 && v < 1e15; };
  return m.job_id > 0 && m.minute_start >= 0 && m.minute_start % 60 == 0 && amount(m.leased_device_seconds) &&
         amount(m.busy_seconds) && amount(m.cost);
}

// One prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK; }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return ok_; }
  Statement& bind(int i, int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }
  Statement& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bindBlob(int i, const void* data, size_t size) {
    return check(sqlite3_bind_blob(stmt_, i, data, int(size), SQLITE_TRANSIENT));
  }
  // Runs a statement that returns no rows; the statement can be bound again.
  bool run() {
    bool done = ok_ && sqlite3_step(stmt_) == SQLITE_DONE;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return done;
  }
  bool next() { return ok_ && sqlite3_step(stmt_) == SQLITE_ROW; }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  double real(int col) { return sqlite3_column_double(stmt_, col); }
  bool isNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::vector<uint8_t> blob(int col) {
    auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(stmt_, col)) : std::vector<uint8_t>();
  }

 private:
  Statement& check(int rc) {
    ok_ = ok_ && rc == SQLITE_OK;
    return *this;
  }
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

Error sqlError(sqlite3* db, const std::string& what) {
  return makeError(MODNN_ERR_UNKNOWN, what + ": " + sqlite3_errmsg(db));
}

bool exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

template <class T>
std::optional<T> decodeStored(const std::vector<uint8_t>& bytes, const char* what) {
  auto msg = wire::decodeToScheduler(bytes.data(), bytes.size());
  if (msg)
    if (auto* v = std::get_if<T>(&*msg)) return std::move(*v);
  spdlog::warn("state: a stored {} does not decode ({}); skipped", what,
               msg ? std::string("another message") : msg.error().message);
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& path) {
  // Owner-only from the start; SQLite gives -wal and -shm the same mode.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return makeError(MODNN_ERR_INVALID_VALUE, "cannot open " + path + ": " + std::strerror(errno));
  ::close(fd);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    Error e = sqlError(db, "cannot open " + path);
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<StateStore> store(new StateStore(db));
  sqlite3_busy_timeout(db, 2000);
  // WAL with synchronous=NORMAL: a committed transaction survives the
  // process being killed (only a power loss may lose the latest ones).
  if (!exec(db, "PRAGMA journal_mode=WAL") || !exec(db, "PRAGMA synchronous=NORMAL") || !exec(db, kSchema))
    return sqlError(db, "cannot set up " + path);
  Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  if (version.next()) {
    int64_t found = version.integer(0);
    version.reset();
    if (found == 1) {
      // usage_minutes came with the schema above; usage needs its cost, jobs their quota.
      if (!exec(db, "BEGIN IMMEDIATE; ALTER TABLE usage ADD COLUMN cost REAL NOT NULL DEFAULT 0; "
                    "ALTER TABLE jobs ADD COLUMN memory_quota INTEGER NOT NULL DEFAULT 0; "
                    "UPDATE meta SET value = 2 WHERE key = 'schema_version'; COMMIT")) {
        Error e = sqlError(db, "cannot upgrade " + path + " to state schema version 2");
        exec(db, "ROLLBACK");
        return e;
      }
      spdlog::info("state: {} upgraded to schema version 2 (billing, shared devices)", path);
    } else if (found != kSchemaVersion) {
      return makeError(MODNN_ERR_INVALID_VALUE, path + " has state schema version " + std::to_string(found) +
                                                    ", this moai-sched reads versions 1 and " + std::to_string(kSchemaVersion));
    }
  } else if (!Statement(db, "INSERT INTO meta VALUES ('schema_version', ?)").bind(1, int64_t(kSchemaVersion)).run()) {
    return sqlError(db, "cannot write " + path);
  }
  return store;
}

StateStore::~StateStore() { sqlite3_close(db_); }

Result<Snapshot> StateStore::load() {
  Snapshot out;
  Statement next(db_, "SELECT value FROM meta WHERE key = 'next_job_id'");
  if (next.next()) out.next_job_id = uint64_t(std::max<int64_t>(1, next.integer(0)));

  Statement workers(db_, "SELECT registration, draining FROM workers ORDER BY id");
  if (!workers.ok()) return sqlError(db_, "cannot read workers");
  while (workers.next())
    if (auto r = decodeStored<wire::RegisterMsg>(workers.blob(0), "worker registration"))
      out.workers.push_back({std::move(*r), workers.integer(1) != 0});

  Statement jobs(db_, "SELECT id, request, state, token, submit_time, start_time, resize_unconfirmed, memory_quota FROM jobs "
                      "ORDER BY id");
  Statement leases(db_, "SELECT worker_id, idx, dropping FROM leases WHERE job_id = ? ORDER BY position");
  if (!jobs.ok() || !leases.ok()) return sqlError(db_, "cannot read jobs");
  while (jobs.next()) {
    auto request = decodeStored<wire::LeaseRequestMsg>(jobs.blob(1), "job request");
    if (!request || jobs.integer(0) <= 0) continue;
    JobRecord j{uint64_t(jobs.integer(0)), std::move(*request), jobs.text(2) == "running", jobs.text(3),
                jobs.real(4), jobs.real(5), {}, jobs.integer(6) != 0, uint64_t(jobs.integer(7))};
    leases.bind(1, int64_t(j.job_id));
    while (leases.next())
      j.devices.push_back({leases.text(0), uint32_t(leases.integer(1)), leases.integer(2) != 0});
    leases.reset();
    out.jobs.push_back(std::move(j));
  }

  Statement usage(db_,
                  "SELECT job_id, user, devices, submit_time, start_time, end_time, leased_device_seconds, "
                  "counted_until, busy_seconds, end_reason, cost FROM usage WHERE end_time = 0 OR job_id IN "
                  "(SELECT job_id FROM usage WHERE end_time > 0 ORDER BY job_id DESC LIMIT ?) ORDER BY job_id");
  usage.bind(1, int64_t(wire::kMaxUsageRecords));
  if (!usage.ok()) return sqlError(db_, "cannot read usage");
  while (usage.next()) {
    UsageRecord u;
    u.entry = {uint64_t(usage.integer(0)), usage.text(1), uint32_t(usage.integer(2)), usage.real(3), usage.real(4),
               usage.real(5), usage.real(6), usage.isNull(8) ? -1.0 : usage.real(8), usage.text(9), usage.real(10)};
    u.counted_until = usage.real(7);
    out.usage.push_back(std::move(u));
  }

  // Minutes: the running jobs' latest first, then the latest ended jobs'
  // (those whose usage records were loaded), up to the memory bound.
  const char* minute_columns =
      "SELECT m.job_id, m.minute_start, m.kind, m.leased_device_seconds, m.busy_seconds, m.cost "
      "FROM usage_minutes m JOIN usage u ON u.job_id = m.job_id ";
  Statement running(db_, (std::string(minute_columns) + "WHERE u.end_time = 0 ORDER BY m.minute_start DESC LIMIT ?").c_str());
  Statement ended(db_, (std::string(minute_columns) +
                        "WHERE u.end_time > 0 AND m.job_id >= ? ORDER BY m.job_id DESC, m.minute_start DESC LIMIT ?")
                           .c_str());
  if (!running.ok() || !ended.ok()) return sqlError(db_, "cannot read usage minutes");
  uint64_t oldest_ended = UINT64_MAX;
  for (auto& u : out.usage)
    if (u.entry.end_time > 0) oldest_ended = std::min(oldest_ended, u.entry.job_id);
  auto read = [&](Statement& s) {
    while (s.next()) {
      wire::UsageMinuteEntry m{uint64_t(s.integer(0)), s.integer(1), s.text(2), s.real(3), s.real(4), s.real(5)};
      if (validMinute(m))
        out.usage_minutes.push_back(std::move(m));
      else
        spdlog::warn("state: usage minute of job {} at {} is out of range; skipped", s.integer(0), s.integer(1));
    }
  };
  running.bind(1, int64_t(wire::kMaxUsageMinutes));
  read(running);
  if (oldest_ended != UINT64_MAX && out.usage_minutes.size() < wire::kMaxUsageMinutes) {
    ended.bind(1, int64_t(oldest_ended)).bind(2, int64_t(wire::kMaxUsageMinutes - out.usage_minutes.size()));
    read(ended);
  }
  return out;
}

Result<size_t> StateStore::apply(const Changes& c) {
  if (c.empty()) return size_t(0);
  if (!exec(db_, "BEGIN IMMEDIATE")) return sqlError(db_, "cannot begin a transaction");
  size_t rows = 0;
  bool ok = true;
  auto run = [&](Statement& s) {
    ok = ok && s.run();
    ++rows;
  };

  Statement put_worker(db_, "INSERT OR REPLACE INTO workers VALUES (?, ?, ?)");
  Statement del_worker(db_, "DELETE FROM workers WHERE id = ?");
  Statement del_devices(db_, "DELETE FROM devices WHERE worker_id = ?");
  Statement put_device(db_, "INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?)");
  for (auto& w : c.workers) {
    auto bytes = wire::encodeToScheduler(w.registration);
    const std::string& id = w.registration.worker_id;
    put_worker.bind(1, id).bindBlob(2, bytes.data(), bytes.size()).bind(3, int64_t(w.draining));
    run(put_worker);
    run(del_devices.bind(1, id));
    for (size_t i = 0; i < w.registration.devices.size(); ++i) {
      auto& d = w.registration.devices[i];
      put_device.bind(1, id).bind(2, int64_t(i)).bindBlob(3, d.uuid, sizeof d.uuid).bind(4, std::string(d.kind));
      put_device.bind(5, std::string(d.name)).bind(6, int64_t(d.total_memory));
      run(put_device);
    }
  }
  for (auto& id : c.workers_gone) {
    run(del_worker.bind(1, id));
    run(del_devices.bind(1, id));
  }

  Statement put_job(db_, "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  Statement del_job(db_, "DELETE FROM jobs WHERE id = ?");
  Statement del_leases(db_, "DELETE FROM leases WHERE job_id = ?");
  Statement put_lease(db_, "INSERT INTO leases VALUES (?, ?, ?, ?, ?)");
  for (auto& j : c.jobs) {
    auto bytes = wire::encodeToScheduler(j.request);
    put_job.bind(1, int64_t(j.job_id)).bind(2, j.request.user).bindBlob(3, bytes.data(), bytes.size());
    put_job.bind(4, std::string(j.running ? "running" : "queued")).bind(5, j.token).bind(6, j.submit_time);
    put_job.bind(7, j.start_time).bind(8, int64_t(j.change_unconfirmed)).bind(9, int64_t(j.memory_quota));
    run(put_job);
    run(del_leases.bind(1, int64_t(j.job_id)));
    for (size_t p = 0; p < j.devices.size(); ++p) {
      auto& d = j.devices[p];
      put_lease.bind(1, int64_t(j.job_id)).bind(2, int64_t(p)).bind(3, d.worker_id).bind(4, int64_t(d.index));
      put_lease.bind(5, int64_t(d.dropping));
      run(put_lease);
    }
  }
  for (uint64_t id : c.jobs_gone) {
    run(del_job.bind(1, int64_t(id)));
    run(del_leases.bind(1, int64_t(id)));
  }

  Statement put_usage(db_,
                      "INSERT OR REPLACE INTO usage (job_id, user, devices, submit_time, start_time, end_time, "
                      "leased_device_seconds, counted_until, busy_seconds, end_reason, cost) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, -1.0), ?, ?)");
  for (auto& u : c.usage) {
    auto& e = u.entry;
    put_usage.bind(1, int64_t(e.job_id)).bind(2, e.user).bind(3, int64_t(e.devices)).bind(4, e.submit_time);
    put_usage.bind(5, e.start_time).bind(6, e.end_time).bind(7, e.leased_device_seconds).bind(8, u.counted_until);
    put_usage.bind(9, e.busy_seconds < 0 ? -1.0 : e.busy_seconds).bind(10, e.end_reason).bind(11, e.cost);
    run(put_usage);
  }
  Statement put_minute(db_, "INSERT OR REPLACE INTO usage_minutes VALUES (?, ?, ?, ?, ?, ?)");
  for (auto& m : c.usage_minutes) {
    put_minute.bind(1, int64_t(m.job_id)).bind(2, m.minute_start).bind(3, m.kind).bind(4, m.leased_device_seconds);
    put_minute.bind(5, m.busy_seconds).bind(6, m.cost);
    run(put_minute);
  }
  Statement next(db_, "INSERT OR REPLACE INTO meta VALUES ('next_job_id', ?)");
  run(next.bind(1, int64_t(c.next_job_id)));

  if (!ok) {
    Error e = sqlError(db_, "cannot write the state");
    exec(db_, "ROLLBACK");
    return e;
  }
  if (!exec(db_, "COMMIT")) {
    Error e = sqlError(db_, "cannot commit the state");
    exec(db_, "ROLLBACK");
    return e;
  }
  return rows;
}

}  // namespace moai::sched

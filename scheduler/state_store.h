// moai-sched's state on disk: an SQLite database (WAL mode) holding the
// workers and their devices, the jobs (queued and running) with their
// leases, drain flags, and usage records, so a restarted scheduler (even
// after kill -9) carries on where it stopped.
//
// The Inventory stays pure: it reports what changed (Inventory::takeChanges)
// and the daemon hands that to apply(), one transaction per state change.
// The file and its -wal/-shm companions are created owner-only: they hold
// lease tokens.
#pragma once
#include <memory>
#include <string>

#include "interpose/core/result.h"
#include "inventory.h"

struct sqlite3;

namespace moai::sched {

class StateStore {
 public:
  // Opens or creates the database at `path`.
  static Result<std::unique_ptr<StateStore>> open(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Everything stored; records that fail validation are skipped with a
  // warning. Keeps every running job's usage and the latest ended ones.
  Result<Snapshot> load();
  // Writes `changes` in one transaction; returns the rows written.
  Result<size_t> apply(const Changes& changes);

 private:
  explicit StateStore(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace moai::sched

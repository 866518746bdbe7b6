// Billing: per job, per wall-clock minute and per device kind, the leased
// device-seconds, the busy device-seconds and their cost.
//
// Users pay for compute only: cost = busy device-minutes x the kind's price
// per device-minute; leased idle time is counted but costs nothing. Busy
// time arrives as counters with worker heartbeats; each increase belongs to
// the minute in which the heartbeat reporting it arrived (the scheduler
// cannot know when inside the heartbeat interval the work ran). Leased time
// is split exactly at minute boundaries.
//
// Memory is bounded (kMaxUsageMinutes records): ended jobs' minutes go
// first, oldest job first; the state store keeps every record. A job's
// latest minute is never trimmed while the job runs, since it may still grow.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "schemas/scheduler_messages.h"

namespace moai::sched {

// Price per device-minute, by DeviceProps.kind; kinds not listed cost
// `default_price`.
struct PriceTable {
  std::map<std::string, double> per_kind;
  double default_price = 0;
  double of(const std::string& kind) const;
};

// What one roll-up call added to a job's totals.
struct Metered {
  double leased_device_seconds = 0;
  double busy_seconds = 0;
  double cost = 0;
};

class UsageMeter {
 public:
  explicit UsageMeter(PriceTable prices = {}, size_t max_minutes = wire::kMaxUsageMinutes);

  // Leased time over [from, to) (Unix seconds) of `devices` (count per kind),
  // split at minute boundaries.
  Metered addLeased(uint64_t job, double from, double to, const std::map<std::string, uint32_t>& devices);
  // `seconds` of busy device time reported at `at`, shared among the kinds
  // in proportion to `devices` (the job's devices on the reporting worker).
  Metered addBusy(uint64_t job, double at, double seconds, const std::map<std::string, uint32_t>& devices);

  // Every record in memory, by job, minute, kind; `job` != 0: that job's.
  std::vector<wire::UsageMinuteEntry> minutes(uint64_t job = 0) const;
  // Trims to the bound; `ended(job)` says whether a job can still change.
  void trim(const std::function<bool(uint64_t)>& ended);
  void forget(uint64_t job);  // its usage record left memory
  size_t size() const { return minutes_.size(); }

  // Persistence: records changed since the last call; records from the store.
  std::vector<wire::UsageMinuteEntry> takeChanges();
  void restore(std::vector<wire::UsageMinuteEntry> records);

 private:
  using Key = std::tuple<uint64_t, int64_t, std::string>;  // job, minute start, kind
  wire::UsageMinuteEntry& at(uint64_t job, int64_t minute, const std::string& kind);
  int64_t latestMinute(uint64_t job) const;

  PriceTable prices_;
  size_t max_minutes_;
  std::map<Key, wire::UsageMinuteEntry> minutes_;
  std::set<Key> dirty_;
  std::vector<wire::UsageMinuteEntry> unsaved_;  // changed, then trimmed before takeChanges
};

}  // namespace moai::sched

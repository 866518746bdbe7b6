#include "usage_meter.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace moai::sched {
namespace {

constexpr double kMinute = 60;

int64_t minuteOf(double t) { return int64_t(std::floor(t / kMinute)) * int64_t(kMinute); }

uint32_t deviceCount(const std::map<std::string, uint32_t>& devices) {
  uint32_t n = 0;
  for (auto& [kind, count] : devices) n += count;
  return n;
}

}  // namespace

double PriceTable::of(const std::string& kind) const {
  auto it = per_kind.find(kind);
  return it == per_kind.end() ? default_price : it->second;
}

UsageMeter::UsageMeter(PriceTable prices, size_t max_minutes) : prices_(std::move(prices)), max_minutes_(max_minutes) {}

wire::UsageMinuteEntry& UsageMeter::at(uint64_t job, int64_t minute, const std::string& kind) {
  Key key{job, minute, kind};
  dirty_.insert(key);
  auto [it, added] = minutes_.try_emplace(key);
  if (added) {
    it->second.job_id = job;
    it->second.minute_start = minute;
    it->second.kind = kind;
  }
  return it->second;
}

int64_t UsageMeter::latestMinute(uint64_t job) const {
  auto it = minutes_.lower_bound(Key{job + 1, INT64_MIN, ""});
  if (it == minutes_.begin() || std::get<0>(std::prev(it)->first) != job) return INT64_MIN;
  return std::get<1>(std::prev(it)->first);
}

Metered UsageMeter::addLeased(uint64_t job, double from, double to, const std::map<std::string, uint32_t>& devices) {
  Metered out;
  while (from < to && deviceCount(devices) > 0) {
    int64_t minute = minuteOf(from);
    double until = std::min(to, double(minute) + kMinute);
    for (auto& [kind, count] : devices) {
      if (count == 0) continue;
      double s = double(count) * (until - from);
      at(job, minute, kind).leased_device_seconds += s;
      out.leased_device_seconds += s;
    }
    from = until;
  }
  return out;
}

Metered UsageMeter::addBusy(uint64_t job, double at_time, double seconds, const std::map<std::string, uint32_t>& devices) {
  Metered out;
  uint32_t n = deviceCount(devices);
  if (seconds <= 0 || n == 0) return out;
  // Never into a minute before the job's latest one (a wall clock stepped
  // back): that one may have left memory already.
  int64_t minute = std::max(minuteOf(at_time), latestMinute(job));
  for (auto& [kind, count] : devices) {
    if (count == 0) continue;
    double s = seconds * double(count) / double(n);
    double cost = s / kMinute * prices_.of(kind);
    auto& m = at(job, minute, kind);
    m.busy_seconds += s;
    m.cost += cost;
    out.busy_seconds += s;
    out.cost += cost;
  }
  return out;
}

std::vector<wire::UsageMinuteEntry> UsageMeter::minutes(uint64_t job) const {
  std::vector<wire::UsageMinuteEntry> out;
  auto it = job ? minutes_.lower_bound(Key{job, INT64_MIN, ""}) : minutes_.begin();
  for (; it != minutes_.end() && (!job || std::get<0>(it->first) == job); ++it) out.push_back(it->second);
  return out;
}

void UsageMeter::trim(const std::function<bool(uint64_t)>& ended) {
  auto erase = [&](std::map<Key, wire::UsageMinuteEntry>::iterator it) {
    if (dirty_.erase(it->first)) unsaved_.push_back(it->second);  // written at the next takeChanges
    return minutes_.erase(it);
  };
  // Ended jobs first, oldest job first.
  for (auto it = minutes_.begin(); minutes_.size() > max_minutes_ && it != minutes_.end();) {
    uint64_t job = std::get<0>(it->first);
    if (ended(job)) {
      while (it != minutes_.end() && std::get<0>(it->first) == job) it = erase(it);
    } else {
      it = minutes_.lower_bound(Key{job + 1, INT64_MIN, ""});
    }
  }
  // Then the oldest minutes of running jobs, all but each one's latest.
  for (auto it = minutes_.begin(); minutes_.size() > max_minutes_ && it != minutes_.end();) {
    uint64_t job = std::get<0>(it->first);
    if (std::get<1>(it->first) < latestMinute(job))
      it = erase(it);
    else
      it = minutes_.lower_bound(Key{job + 1, INT64_MIN, ""});
  }
}

void UsageMeter::forget(uint64_t job) {
  auto it = minutes_.lower_bound(Key{job, INT64_MIN, ""});
  while (it != minutes_.end() && std::get<0>(it->first) == job) {
    if (dirty_.erase(it->first)) unsaved_.push_back(it->second);
    it = minutes_.erase(it);
  }
}

std::vector<wire::UsageMinuteEntry> UsageMeter::takeChanges() {
  std::vector<wire::UsageMinuteEntry> out = std::move(unsaved_);
  unsaved_.clear();
  for (auto& key : dirty_) out.push_back(minutes_.at(key));
  dirty_.clear();
  return out;
}

void UsageMeter::restore(std::vector<wire::UsageMinuteEntry> records) {
  for (auto& r : records) {
    Key key{r.job_id, r.minute_start, r.kind};
    minutes_[key] = std::move(r);
  }
}

}  // namespace moai::sched

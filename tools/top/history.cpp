#include "tools/top/history.h"

#include <set>

namespace moai::top {

void History::record(const Snapshot& snapshot) {
  std::set<std::pair<std::string, uint32_t>> seen;
  for (auto& d : snapshot.devices) {
    seen.insert({d.worker, d.index});
    auto& s = series_[{d.worker, d.index}];
    s.missing = 0;
    if (!d.utilization) continue;
    s.samples.push_back(*d.utilization);
    while (s.samples.size() > capacity_) s.samples.pop_front();
  }
  for (auto it = series_.begin(); it != series_.end();) {
    if (!seen.count(it->first) && ++it->second.missing > capacity_)
      it = series_.erase(it);
    else
      ++it;
  }
}

const std::deque<double>& History::utilization(const std::string& worker, uint32_t index) const {
  static const std::deque<double> empty;
  auto it = series_.find({worker, index});
  return it == series_.end() ? empty : it->second.samples;
}

}  // namespace moai::top

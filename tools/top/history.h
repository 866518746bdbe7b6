// Utilisation history per device, for the sparklines: the last `capacity`
// samples, oldest first. A device missing from a snapshot keeps its history
// for a while (a worker that blinked) and is dropped once it has been gone
// for `capacity` snapshots.
#pragma once
#include <deque>
#include <map>
#include <string>
#include <utility>

#include "tools/top/snapshot.h"

namespace moai::top {

class History {
 public:
  explicit History(size_t capacity = 120) : capacity_(capacity) {}
  void record(const Snapshot& snapshot);
  // Percent samples; a device with no utilisation yet has none.
  const std::deque<double>& utilization(const std::string& worker, uint32_t index) const;

 private:
  struct Series {
    std::deque<double> samples;
    size_t missing = 0;  // snapshots since it was last seen
  };
  size_t capacity_;
  std::map<std::pair<std::string, uint32_t>, Series> series_;
};

}  // namespace moai::top

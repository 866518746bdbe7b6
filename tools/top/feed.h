// The fetch thread: asks the ClusterSource every interval and runs queued
// actions, so the screen never waits on a slow or dead scheduler. The UI
// takes a copy of the latest state whenever it redraws.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tools/top/actions.h"
#include "tools/top/cluster_source.h"
#include "tools/top/history.h"

namespace moai::top {

struct FeedState {
  std::optional<Snapshot> snapshot;  // the last one the scheduler answered
  History history;
  std::string error;                 // the latest fetch's, "" when it worked
  std::string metrics_error;
  double data_age = 0;               // seconds since `snapshot` was taken
};

class Feed {
 public:
  Feed(std::unique_ptr<ClusterSource> source, std::unique_ptr<ClusterActions> actions, double interval_seconds);
  ~Feed();  // stops the thread (waits at most for the fetch in flight)

  FeedState state() const;
  // Runs on the fetch thread; its outcome comes back through takeOutcomes().
  void submit(std::function<ActionOutcome(ClusterActions&)> action);
  std::vector<ActionOutcome> takeOutcomes();

 private:
  void run();

  std::unique_ptr<ClusterSource> source_;
  std::unique_ptr<ClusterActions> actions_;
  double interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false, refresh_ = false;
  std::atomic<bool> cancel_{false};  // set with stop_, read by the fetch in flight
  FeedState state_;
  std::chrono::steady_clock::time_point taken_at_{};
  std::vector<std::function<ActionOutcome(ClusterActions&)>> pending_;
  std::vector<ActionOutcome> outcomes_;
  std::thread thread_;
};

}  // namespace moai::top

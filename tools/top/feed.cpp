#include "tools/top/feed.h"

#include <chrono>

namespace moai::top {

Feed::Feed(std::unique_ptr<ClusterSource> source, std::unique_ptr<ClusterActions> actions, double interval_seconds)
    : source_(std::move(source)), actions_(std::move(actions)), interval_(interval_seconds) {
  thread_ = std::thread([this] { run(); });
}

Feed::~Feed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cancel_ = true;
  wake_.notify_all();
  thread_.join();
}

FeedState Feed::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  FeedState s = state_;
  if (s.snapshot) s.data_age = std::chrono::duration<double>(std::chrono::steady_clock::now() - taken_at_).count();
  return s;
}

void Feed::submit(std::function<ActionOutcome(ClusterActions&)> action) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(std::move(action));
  }
  wake_.notify_all();
}

std::vector<ActionOutcome> Feed::takeOutcomes() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(outcomes_, {});
}

void Feed::run() {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_.wait_until(lock, next, [&] { return stop_ || refresh_ || !pending_.empty(); });
    if (stop_) break;
    auto actions = std::exchange(pending_, {});
    if (!actions.empty()) {
      lock.unlock();
      std::vector<ActionOutcome> done;
      for (auto& a : actions) done.push_back(a(*actions_));
      lock.lock();
      for (auto& d : done) outcomes_.push_back(std::move(d));
      refresh_ = true;  // show the action's effect at once
    }
    if (!refresh_ && std::chrono::steady_clock::now() < next) continue;
    refresh_ = false;
    lock.unlock();
    Fetch f = source_->fetch(cancel_);  // the only slow part, outside the lock
    auto now = std::chrono::steady_clock::now();
    lock.lock();
    state_.error = f.error;
    state_.metrics_error = f.metrics_error;
    // A snapshot with neither source answering would blank the screen; keep the last one.
    bool answered = f.error.empty() || (f.snapshot.has_metrics && f.metrics_error.empty());
    if (answered) {
      state_.history.record(f.snapshot);
      state_.snapshot = std::move(f.snapshot);
      taken_at_ = now;
    }
    next = now + std::chrono::milliseconds(int64_t(interval_ * 1000));
  }
}

}  // namespace moai::top

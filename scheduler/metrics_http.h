// The /metrics HTTP endpoint of moai-sched (cpp-httplib), on threads of its
// own.
//
// The scheduler loop never waits for it: a scrape raises `wanted()`, the
// loop publishes a snapshot at its next tick (within ~100 ms), and the
// scrape renders that snapshot on the HTTP thread. A scrape that hears
// nothing within a second is served the last snapshot published.
#pragma once
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "interpose/core/result.h"
#include "metrics.h"

namespace httplib {
class Server;
}

namespace moai::sched {

class MetricsHttp {
 public:
  // `listen` is HOST:PORT ([V6ADDR]:PORT for IPv6); port 0 picks a free one.
  static Result<std::unique_ptr<MetricsHttp>> start(const std::string& listen);
  ~MetricsHttp();

  const std::string& address() const { return address_; }  // http://HOST:PORT actually bound
  bool wanted() const { return wanted_.load(std::memory_order_relaxed); }
  void publish(MetricsSnapshot snapshot);

 private:
  MetricsHttp();
  std::string scrape();

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::string address_;
  std::atomic<bool> wanted_{false};
  std::mutex mu_;
  std::condition_variable published_;
  uint64_t generation_ = 0;
  std::shared_ptr<const MetricsSnapshot> latest_;
};

}  // namespace moai::sched

// A small persistent pool of worker threads owned by one device. run()
// executes fn(0..n-1) with the caller taking part as participant 0, and
// returns when all participants are done.
#pragma once
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace modnn::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // total participants including the caller
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }
  // Runs fn(i) for i in [0, n), n <= size(); one run at a time.
  void run(int n, const std::function<void(int)>& fn);

 private:
  void loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int participants_ = 0;
  int remaining_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::mutex runMu_;
};

}  // namespace modnn::cpu

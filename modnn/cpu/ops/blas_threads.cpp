// BlasThreads: one OpenBLAS thread count at a time, shared by the scopes
// that want it.
#include "modnn/cpu/ops/blas_threads.h"

#include <cblas.h>

#include <condition_variable>
#include <mutex>

namespace modnn::cpu {
namespace {

struct State {
  std::mutex mu;
  std::condition_variable turn;
  int threads = 0;  // the count OpenBLAS runs with
  int active = 0;   // scopes running with it
};

State& state() {
  static auto* s = new State;  // outlives static destructors
  return *s;
}

}  // namespace

BlasThreads::BlasThreads(int threads) {
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mu);
  s.turn.wait(lock, [&] { return s.active == 0 || s.threads == threads; });
  if (s.threads != threads) {
    openblas_set_num_threads(threads);
    s.threads = threads;
  }
  ++s.active;
}

BlasThreads::~BlasThreads() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (--s.active == 0) s.turn.notify_all();
}

}  // namespace modnn::cpu

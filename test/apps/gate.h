// A host function that holds its stream until the test opens the gate (or
// 10 s pass), so "work still pending" states can be checked deterministically.
#pragma once
#include <atomic>
#include <chrono>
#include <thread>

#include <cuda_runtime.h>

struct Gate {
  std::atomic<bool> open{false};
  std::atomic<bool> entered{false};
  std::atomic<bool> timed_out{false};
};

static void CUDART_CB gate_fn(void* p) {
  Gate* g = static_cast<Gate*>(p);
  g->entered = true;
  auto t0 = std::chrono::steady_clock::now();
  while (!g->open.load()) {
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(10)) {
      g->timed_out = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

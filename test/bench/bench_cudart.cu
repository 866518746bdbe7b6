// cudart data-path benchmark, run under the shim. Each number is printed
// next to a baseline measured in the same run:
//   * cudaMemcpy H2D / D2H of 64 MiB, pageable and pinned, against plain
//     memcpy of the same bytes between two host buffers (goal: >= 0.8x);
//   * 1,000,000 cudaMemsetAsync of 4 bytes followed by one
//     cudaStreamSynchronize (goal: >= 1,000,000 ops/s).
// Both paths are warmed up first; each figure is the best of several runs.
// Lines starting with "RESULT " are machine-readable (key=value).
// --quick: smaller sizes and fewer runs, for CI. Goals are reported
// (PASS / MISS), not enforced: the exit status is non-zero only when a CUDA
// call fails or data comes back wrong.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "check.h"

using Clock = std::chrono::steady_clock;

static double seconds_of(const std::function<void()>& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

static double best_of(int runs, const std::function<void()>& f) {
  double best = 1e300;
  for (int i = 0; i < runs; ++i) best = std::min(best, seconds_of(f));
  return best;
}

struct Row {
  std::string key, label;
  double gbps, ratio;
};

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }
  const size_t bytes = quick ? (16u << 20) : (64u << 20);
  const int runs = quick ? 3 : 7;
  const long memsets = quick ? 100000 : 1000000;
  const int memset_runs = quick ? 1 : 3;
  const double copy_goal = 0.8, memset_goal = 1e6;

  CHECK(cudaSetDevice(0));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s; %zu MiB copies, best of %d runs%s\n", prop.name, bytes >> 20, runs,
              quick ? " (quick)" : "");

  // Host buffers, touched so page faults are not timed.
  std::vector<unsigned char> src(bytes), dst(bytes);
  fill_pattern(src.data(), bytes, 1);
  std::memset(dst.data(), 0, bytes);
  unsigned char *psrc = nullptr, *pdst = nullptr;
  CHECK(cudaMallocHost((void**)&psrc, bytes));
  CHECK(cudaMallocHost((void**)&pdst, bytes));
  std::memcpy(psrc, src.data(), bytes);
  std::memset(pdst, 0, bytes);
  void* d = nullptr;
  CHECK(cudaMalloc(&d, bytes));

  // Warm-up of every path, with a correctness check.
  std::memcpy(dst.data(), src.data(), bytes);
  CHECK(cudaMemcpy(d, src.data(), bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dst.data(), d, bytes, cudaMemcpyDeviceToHost));
  EXPECT_BYTES_EQ(dst.data(), src.data(), bytes);
  CHECK(cudaMemcpy(d, psrc, bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(pdst, d, bytes, cudaMemcpyDeviceToHost));
  EXPECT_BYTES_EQ(pdst, psrc, bytes);

  // The baseline is measured before and after the CUDA copies (best of
  // both), so a noisy moment on the machine does not favour either side.
  auto host_memcpy = [&] { std::memcpy(dst.data(), src.data(), bytes); };
  double t_memcpy = best_of(runs, host_memcpy);
  auto gbps = [&](double t) { return bytes / t / 1e9; };
  struct Timed { const char* key; const char* label; double t; };
  std::vector<Timed> timed;
  auto add = [&](const char* key, const char* label, double t) { timed.push_back({key, label, t}); };
  // cudaMemcpy H2D may return before the data reaches the device (pageable
  // sources are staged); the synchronize makes the timing cover the transfer.
  add("h2d_pageable", "H2D pageable", best_of(runs, [&] {
        CHECK(cudaMemcpy(d, src.data(), bytes, cudaMemcpyHostToDevice));
        CHECK(cudaDeviceSynchronize());
      }));
  add("d2h_pageable", "D2H pageable", best_of(runs, [&] {
        CHECK(cudaMemcpy(dst.data(), d, bytes, cudaMemcpyDeviceToHost));
      }));
  add("h2d_pinned", "H2D pinned", best_of(runs, [&] {
        CHECK(cudaMemcpy(d, psrc, bytes, cudaMemcpyHostToDevice));
        CHECK(cudaDeviceSynchronize());
      }));
  add("d2h_pinned", "D2H pinned", best_of(runs, [&] {
        CHECK(cudaMemcpy(pdst, d, bytes, cudaMemcpyDeviceToHost));
      }));
  // The timed copies moved the right bytes.
  EXPECT_BYTES_EQ(dst.data(), src.data(), bytes);
  EXPECT_BYTES_EQ(pdst, psrc, bytes);
  t_memcpy = std::min(t_memcpy, best_of(runs, host_memcpy));
  const double memcpy_gbps = gbps(t_memcpy);
  std::vector<Row> rows;
  for (const Timed& t : timed) rows.push_back({t.key, t.label, gbps(t.t), gbps(t.t) / memcpy_gbps});

  std::printf("\n%-14s %10s %8s %8s  %s\n", "copy", "GB/s", "ratio", "goal", "");
  std::printf("%-14s %10.2f %8s %8s  %s\n", "host memcpy", memcpy_gbps, "1.00", "-", "(baseline)");
  double h2d_ratio = 1e300, d2h_ratio = 1e300;
  for (const Row& r : rows) {
    std::printf("%-14s %10.2f %8.2f %8.2f  %s\n", r.label.c_str(), r.gbps, r.ratio, copy_goal,
                r.ratio >= copy_goal ? "PASS" : "MISS");
    if (r.key.rfind("h2d", 0) == 0) h2d_ratio = std::min(h2d_ratio, r.ratio);
    else d2h_ratio = std::min(d2h_ratio, r.ratio);
  }

  // cudaMemsetAsync rate: many tiny memsets on one stream, one synchronize.
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  void* m = nullptr;
  const size_t mbytes = 4096;
  CHECK(cudaMalloc(&m, mbytes));
  CHECK(cudaMemset(m, 0, mbytes));
  auto memset_batch = [&](long count) {
    unsigned char* base = static_cast<unsigned char*>(m);
    for (long i = 0; i < count; ++i)
      CHECK(cudaMemsetAsync(base + (i & 1023) * 4, 0x5a, 4, s));
    CHECK(cudaStreamSynchronize(s));
  };
  memset_batch(std::min<long>(memsets / 10, 10000));  // warm-up
  const double t_memset = best_of(memset_runs, [&] { memset_batch(memsets); });
  const double memset_rate = memsets / t_memset;
  std::vector<unsigned char> mcheck(mbytes);
  CHECK(cudaMemcpy(mcheck.data(), m, mbytes, cudaMemcpyDeviceToHost));
  EXPECT_FILL(mcheck.data(), 0x5a, mbytes);
  std::printf("\n%ld x cudaMemsetAsync(4 B) + cudaStreamSynchronize: %.3f s, %.0f ops/s, goal %.0f "
              "ops/s  %s\n",
              memsets, t_memset, memset_rate, memset_goal,
              memset_rate >= memset_goal ? "PASS" : "MISS");

  std::printf("\nRESULT quick=%d\n", quick ? 1 : 0);
  std::printf("RESULT copy_bytes=%zu\n", bytes);
  std::printf("RESULT memcpy_gbps=%.3f\n", memcpy_gbps);
  for (const Row& r : rows) {
    std::printf("RESULT %s_gbps=%.3f\n", r.key.c_str(), r.gbps);
    std::printf("RESULT %s_ratio=%.3f\n", r.key.c_str(), r.ratio);
  }
  std::printf("RESULT h2d_ratio=%.3f\n", h2d_ratio);
  std::printf("RESULT d2h_ratio=%.3f\n", d2h_ratio);
  std::printf("RESULT copy_goal=%.2f\n", copy_goal);
  std::printf("RESULT copy_status=%s\n",
              (h2d_ratio >= copy_goal && d2h_ratio >= copy_goal) ? "PASS" : "MISS");
  std::printf("RESULT memset_async_ops=%ld\n", memsets);
  std::printf("RESULT memset_async_ops_per_s=%.0f\n", memset_rate);
  std::printf("RESULT memset_async_goal=%.0f\n", memset_goal);
  std::printf("RESULT memset_async_status=%s\n", memset_rate >= memset_goal ? "PASS" : "MISS");

  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(m));
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(psrc));
  CHECK(cudaFreeHost(pdst));
  return 0;
}

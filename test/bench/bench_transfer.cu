// Bandwidth and small-op rate through whatever device the shim is given
// (run by bench_remote.py against a moai-worker over ipc:// and tcp://).
// Prints RESULT lines; exits non-zero on a CUDA error or wrong data.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../apps/check.h"

static double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int main(int argc, char** argv) {
  size_t bytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (256u << 20);
  int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  long ops = argc > 3 ? std::atol(argv[3]) : 1000000;
  std::vector<unsigned char> h(bytes), back(bytes);
  for (size_t i = 0; i < bytes; i += 4096) h[i] = static_cast<unsigned char>(i >> 12);
  unsigned char* d = nullptr;
  CHECK(cudaMalloc(&d, bytes));
  double h2d = 1e30, d2h = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    CHECK(cudaMemcpy(d, h.data(), bytes, cudaMemcpyHostToDevice));
    h2d = std::min(h2d, seconds(t0));
    t0 = std::chrono::steady_clock::now();
    CHECK(cudaMemcpy(back.data(), d, bytes, cudaMemcpyDeviceToHost));
    d2h = std::min(d2h, seconds(t0));
  }
  EXPECT(std::memcmp(h.data(), back.data(), bytes) == 0);
  std::printf("RESULT h2d_gbps=%.3f\nRESULT d2h_gbps=%.3f\n", bytes / h2d / 1e9, bytes / d2h / 1e9);

  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  CHECK(cudaMemsetAsync(d, 0, 4, s));
  CHECK(cudaStreamSynchronize(s));
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < ops; ++i) CHECK(cudaMemsetAsync(d + 4 * (i % 1024), int(i & 0xff), 4, s));
  CHECK(cudaStreamSynchronize(s));
  double t = seconds(t0);
  std::printf("RESULT memset_ops_per_s=%.0f\n", ops / t);
  CHECK(cudaFree(d));
  return 0;
}

// Events on a remote device: recording one is a one-way message (the
// program does not wait for the work before it), cudaEventQuery says "not
// ready" while that work runs on the worker, and cudaEventElapsedTime
// measures the worker's clock around it.
#include <cstdio>
#include <chrono>
#include <thread>

#include <cuda_runtime.h>

#define CHECK(x)                                                                        \
  do {                                                                                  \
    cudaError_t err_ = (x);                                                             \
    if (err_ != cudaSuccess) {                                                          \
      std::fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(err_)); \
      return 1;                                                                         \
    }                                                                                   \
  } while (0)

__global__ void spin(unsigned* out, unsigned n) {
  unsigned x = threadIdx.x;
  for (unsigned i = 0; i < n; ++i) x = x * 1664525u + 1013904223u;
  out[threadIdx.x] = x;
}

int main() {
  unsigned* out;
  CHECK(cudaMalloc(&out, 32 * sizeof(unsigned)));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  spin<<<1, 32>>>(out, 1000);  // loads the module on the worker first
  CHECK(cudaDeviceSynchronize());

  auto t0 = std::chrono::steady_clock::now();
  CHECK(cudaEventRecord(start));
  spin<<<1, 32>>>(out, 30000000);  // some 250 ms on the PTX engine
  CHECK(cudaEventRecord(stop));
  double issue_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // Long enough for the stream to hand the record to the worker: the query
  // then asks the worker, which answers at once although the kernel runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  cudaError_t q = cudaEventQuery(stop);
  double kernel_wait_start = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  CHECK(cudaEventSynchronize(stop));
  double host_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  CHECK(cudaEventQuery(stop));
  std::printf("issue %.2f ms, first query after %.2f ms: %s, host wait %.1f ms, event time %.1f ms\n", issue_ms,
              kernel_wait_start, cudaGetErrorName(q), host_ms, ms);
  int bad = 0;
  if (q != cudaErrorNotReady) { std::fprintf(stderr, "the stop event was ready before its kernel could have run\n"); ++bad; }
  if (issue_ms > host_ms / 2) { std::fprintf(stderr, "recording waited for the work\n"); ++bad; }
  if (!(ms > 0 && ms <= host_ms * 1.05 + 1)) { std::fprintf(stderr, "elapsed %.1f ms outside (0, %.1f]\n", ms, host_ms); ++bad; }
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  CHECK(cudaFree(out));
  std::printf("event_timing: %s\n", bad ? "FAILED" : "OK");
  return bad ? 1 : 0;
}

// Built with `--default-stream per-thread`: stream 0 (and the synchronous
// API) means the calling thread's own default stream. Copies and memsets
// from two host threads, cudaStreamPerThread, mixing with explicit streams
// and the legacy stream, and per-thread default streams not waiting for
// each other.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "check.h"
#include "gate.h"

#ifndef CUDA_API_PER_THREAD_DEFAULT_STREAM
#error "build with --default-stream per-thread"
#endif

using Clock = std::chrono::steady_clock;

// Work of one thread on its default stream; `id` makes its data distinct.
static void default_stream_worker(int id) {
  const size_t n = (1u << 20) + id * 4099;
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  unsigned char* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, n));
  std::vector<unsigned char> src(n), back(n);
  for (int iter = 0; iter < 20; ++iter) {
    const unsigned char v = (unsigned char)(id * 50 + iter);
    // Async on stream 0 == this thread's default stream.
    CHECK(cudaMemsetAsync(d, v, n, 0));
    CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, 0));
    CHECK(cudaStreamSynchronize(0));
    EXPECT_FILL(h, v, n);
    // Synchronous API, also on the per-thread stream.
    fill_pattern(src.data(), n, id * 100 + iter);
    CHECK(cudaMemcpy(d, src.data(), n, cudaMemcpyHostToDevice));
    CHECK(cudaMemset((char*)d + 10, v, 100));
    std::memset(src.data() + 10, v, 100);
    CHECK(cudaMemcpy(back.data(), d, n, cudaMemcpyDeviceToHost));
    EXPECT_BYTES_EQ(back.data(), src.data(), n);
    // The explicit handle.
    CHECK(cudaMemsetAsync(d, v ^ 0xff, n, cudaStreamPerThread));
    CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, cudaStreamPerThread));
    CHECK(cudaStreamSynchronize(cudaStreamPerThread));
    EXPECT_FILL(h, v ^ 0xff, n);
    CHECK(cudaStreamQuery(0));
  }
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
}

static void test_two_threads() {
  std::thread a(default_stream_worker, 1), b(default_stream_worker, 2);
  a.join();
  b.join();
  default_stream_worker(3);  // and the main thread
}

// An event recorded on the per-thread default stream orders work in an
// explicit stream, and vice versa.
static void mixing_worker(int id) {
  const size_t n = 256 * 1024;
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, id % 2 ? cudaStreamNonBlocking : cudaStreamDefault));
  cudaEvent_t e1, e2;
  CHECK(cudaEventCreateWithFlags(&e1, cudaEventDisableTiming));
  CHECK(cudaEventCreateWithFlags(&e2, cudaEventDisableTiming));
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  unsigned char* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, n));
  for (int iter = 0; iter < 10; ++iter) {
    const unsigned char v = (unsigned char)(id * 30 + iter);
    Gate g;
    CHECK(cudaLaunchHostFunc(0, gate_fn, &g));
    CHECK(cudaMemsetAsync(d, v, n, 0));
    CHECK(cudaEventRecord(e1, 0));
    CHECK(cudaStreamWaitEvent(s, e1, 0));
    CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, s));
    CHECK(cudaEventRecord(e2, s));
    CHECK(cudaStreamWaitEvent(0, e2, 0));
    CHECK(cudaMemsetAsync(d, 0, n, 0));  // must not overtake the copy in s
    g.open = true;
    CHECK(cudaStreamSynchronize(0));
    EXPECT_MSG(!g.timed_out.load(), "thread %d: gate timed out", id);
    EXPECT_FILL(h, v, n);
  }
  CHECK(cudaEventDestroy(e1));
  CHECK(cudaEventDestroy(e2));
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
}

static void test_mixing_with_explicit_streams() {
  std::thread a(mixing_worker, 1), b(mixing_worker, 2);
  a.join();
  b.join();
}

// Per-thread default streams do not wait for each other: thread B finishes
// work on its default stream while thread A's default stream is blocked.
// (CUDA does not promise concurrency, but nothing orders these streams, and
// a real device never holds one back for the other.)
static void test_independent_threads() {
  const size_t n = 1 << 20;
  void *da = nullptr, *db = nullptr;
  CHECK(cudaMalloc(&da, n));
  CHECK(cudaMalloc(&db, n));
  unsigned char *ha = nullptr, *hb = nullptr;
  CHECK(cudaMallocHost((void**)&ha, n));
  CHECK(cudaMallocHost((void**)&hb, n));
  std::memset(ha, 0, n);
  Gate g;
  std::atomic<bool> a_enqueued{false};
  std::atomic<double> b_waited{-1.0};
  std::atomic<bool> b_saw_gate_closed{false};

  std::thread a([&] {
    CHECK(cudaLaunchHostFunc(0, gate_fn, &g));
    CHECK(cudaMemsetAsync(da, 0x1a, n, 0));
    CHECK(cudaMemcpyAsync(ha, da, n, cudaMemcpyDeviceToHost, 0));
    a_enqueued = true;
    CHECK(cudaStreamSynchronize(0));
  });
  std::thread b([&] {
    while (!a_enqueued.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    auto t0 = Clock::now();
    CHECK(cudaMemsetAsync(db, 0x2b, n, 0));
    CHECK(cudaMemcpyAsync(hb, db, n, cudaMemcpyDeviceToHost, 0));
    CHECK(cudaStreamSynchronize(0));
    b_waited = std::chrono::duration<double>(Clock::now() - t0).count();
    b_saw_gate_closed = !g.open.load() && !g.timed_out.load();
    g.open = true;
  });
  b.join();
  a.join();
  EXPECT_MSG(b_saw_gate_closed.load() && b_waited.load() < 5.0,
             "thread B's default stream waited %.1f s for thread A's blocked default stream",
             b_waited.load());
  EXPECT(!g.timed_out.load());
  EXPECT_FILL(ha, 0x1a, n);
  EXPECT_FILL(hb, 0x2b, n);
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFreeHost(ha));
  CHECK(cudaFreeHost(hb));
}

// The legacy default stream still exists and waits for the per-thread
// default stream (a blocking stream).
static void test_legacy_stream() {
  const size_t n = 1 << 20;
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  unsigned char* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, n));
  std::memset(h, 0, n);
  Gate g;
  CHECK(cudaLaunchHostFunc(0, gate_fn, &g));
  CHECK(cudaMemsetAsync(d, 0x77, n, 0));
  CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, cudaStreamLegacy));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_ERR(cudaStreamQuery(cudaStreamLegacy), cudaErrorNotReady);
  cudaGetLastError();
  EXPECT_EQ(h[0], 0);
  g.open = true;
  CHECK(cudaStreamSynchronize(cudaStreamLegacy));
  EXPECT(!g.timed_out.load());
  EXPECT_FILL(h, 0x77, n);
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
}

int main() {
  CHECK(cudaSetDevice(0));
  test_two_threads();
  test_mixing_with_explicit_streams();
  test_independent_threads();
  test_legacy_stream();
  CHECK(cudaDeviceSynchronize());
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  std::printf("per_thread_stream: OK\n");
  return 0;
}

// Streams, events and host callbacks: creation flags and priorities, query
// and synchronize, cross-stream waits, timing, in-order host functions, the
// legacy / per-thread default stream handles, destroying busy streams.
//
// Ordering is tested with a "gate": a host function that blocks its stream
// until the main thread opens it (or 10 s pass, which is then reported), so
// "not finished yet" states are deterministic rather than timing guesses.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "check.h"
#include "gate.h"

using Clock = std::chrono::steady_clock;

static void CUDART_CB sleep_fn(void* p) {
  std::this_thread::sleep_for(std::chrono::milliseconds(*static_cast<int*>(p)));
}

static void expect_gate_ok(const Gate& g, const char* what) {
  EXPECT_MSG(g.entered.load(), "%s: gate host function never ran", what);
  EXPECT_MSG(!g.timed_out.load(), "%s: gate host function waited 10 s: stream work the test "
             "needed ran only after it (streams serialised or host function run inline)", what);
}

static void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

static void test_create_flags_priorities() {
  cudaStream_t s1, s2;
  CHECK(cudaStreamCreate(&s1));
  CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  EXPECT(s1 != nullptr && s2 != nullptr && s1 != s2);
  unsigned f = 99;
  CHECK(cudaStreamGetFlags(s1, &f));
  EXPECT_EQ(f, cudaStreamDefault);
  CHECK(cudaStreamGetFlags(s2, &f));
  EXPECT_EQ(f, cudaStreamNonBlocking);
  int prio = 99;
  CHECK(cudaStreamGetPriority(s1, &prio));
  EXPECT_EQ(prio, 0);  // "'0' represents default priority"

  int least = 99, greatest = 99;
  CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
  EXPECT_MSG(greatest <= 0 && 0 <= least, "priority range [%d, %d] must contain 0", greatest, least);
  cudaStream_t hi, lo, clamp_hi, clamp_lo;
  CHECK(cudaStreamCreateWithPriority(&hi, cudaStreamNonBlocking, greatest));
  CHECK(cudaStreamCreateWithPriority(&lo, cudaStreamDefault, least));
  CHECK(cudaStreamGetPriority(hi, &prio));
  EXPECT_EQ(prio, greatest);
  CHECK(cudaStreamGetFlags(hi, &f));
  EXPECT_EQ(f, cudaStreamNonBlocking);
  CHECK(cudaStreamGetPriority(lo, &prio));
  EXPECT_EQ(prio, least);
  CHECK(cudaStreamGetFlags(lo, &f));
  EXPECT_EQ(f, cudaStreamDefault);
  // Out-of-range priorities are clamped, not rejected.
  CHECK(cudaStreamCreateWithPriority(&clamp_hi, cudaStreamDefault, greatest - 100));
  CHECK(cudaStreamCreateWithPriority(&clamp_lo, cudaStreamDefault, least + 100));
  CHECK(cudaStreamGetPriority(clamp_hi, &prio));
  EXPECT_EQ(prio, greatest);
  CHECK(cudaStreamGetPriority(clamp_lo, &prio));
  EXPECT_EQ(prio, least);

  // Fresh streams are idle; streams work after creation.
  for (cudaStream_t s : {s1, s2, hi, lo, clamp_hi, clamp_lo}) {
    CHECK(cudaStreamQuery(s));
    CHECK(cudaStreamSynchronize(s));
  }
  for (cudaStream_t s : {s1, s2, hi, lo, clamp_hi, clamp_lo}) CHECK(cudaStreamDestroy(s));
}

static void test_query_and_synchronize() {
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  void* d = nullptr;
  CHECK(cudaMalloc(&d, 1 << 20));
  unsigned char* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, 1 << 20));
  std::memset(h, 0, 1 << 20);
  cudaEvent_t e;
  CHECK(cudaEventCreate(&e));

  Gate g;
  CHECK(cudaLaunchHostFunc(s, gate_fn, &g));
  CHECK(cudaMemsetAsync(d, 0x6b, 1 << 20, s));
  CHECK(cudaMemcpyAsync(h, d, 1 << 20, cudaMemcpyDeviceToHost, s));
  CHECK(cudaEventRecord(e, s));
  EXPECT_ERR(cudaStreamQuery(s), cudaErrorNotReady);
  EXPECT_ERR(cudaEventQuery(e), cudaErrorNotReady);
  EXPECT_EQ(h[0], 0);  // the copy is behind the gate
  cudaGetLastError();  // cudaErrorNotReady is not a failure; clear it either way
  g.open = true;
  CHECK(cudaStreamSynchronize(s));
  expect_gate_ok(g, "query");
  CHECK(cudaStreamQuery(s));
  CHECK(cudaEventQuery(e));
  EXPECT_FILL(h, 0x6b, 1 << 20);

  CHECK(cudaEventDestroy(e));
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
}

struct Snapshot {
  const unsigned char* src;
  size_t n;
  unsigned char copy[64];
  std::atomic<bool> taken{false};
};

static void CUDART_CB snapshot_fn(void* p) {
  Snapshot* s = static_cast<Snapshot*>(p);
  std::memcpy(s->copy, s->src, s->n);
  s->taken = true;
}

static void test_wait_event() {
  cudaStream_t s1, s2;
  CHECK(cudaStreamCreate(&s1));
  CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  void* d = nullptr;
  CHECK(cudaMalloc(&d, 4096));
  CHECK(cudaMemset(d, 0, 4096));
  unsigned char* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, 4096));
  std::memset(h, 0, 4096);
  cudaEvent_t e;
  CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));

  Gate g;
  CHECK(cudaLaunchHostFunc(s1, gate_fn, &g));
  CHECK(cudaMemsetAsync(d, 0x5a, 4096, s1));
  CHECK(cudaEventRecord(e, s1));
  CHECK(cudaStreamWaitEvent(s2, e, 0));
  CHECK(cudaMemcpyAsync(h, d, 4096, cudaMemcpyDeviceToHost, s2));
  Snapshot snap;
  snap.src = h;
  snap.n = 64;
  CHECK(cudaLaunchHostFunc(s2, snapshot_fn, &snap));

  sleep_ms(50);
  EXPECT_MSG(!snap.taken.load(), "s2 ran past cudaStreamWaitEvent before the event completed");
  EXPECT_ERR(cudaStreamQuery(s2), cudaErrorNotReady);
  cudaGetLastError();
  g.open = true;
  CHECK(cudaStreamSynchronize(s2));
  expect_gate_ok(g, "wait_event");
  EXPECT(snap.taken.load());
  EXPECT_FILL(snap.copy, 0x5a, 64);
  EXPECT_FILL(h, 0x5a, 4096);

  // Re-recording moves the event: waiting on it now waits for the new point.
  Gate g2;
  CHECK(cudaLaunchHostFunc(s1, gate_fn, &g2));
  CHECK(cudaMemsetAsync(d, 0x2f, 4096, s1));
  CHECK(cudaEventRecord(e, s1));
  CHECK(cudaStreamWaitEvent(s2, e, 0));
  CHECK(cudaMemcpyAsync(h, d, 4096, cudaMemcpyDeviceToHost, s2));
  sleep_ms(20);
  EXPECT_ERR(cudaEventQuery(e), cudaErrorNotReady);
  cudaGetLastError();
  g2.open = true;
  CHECK(cudaStreamSynchronize(s2));
  expect_gate_ok(g2, "re-record");
  EXPECT_FILL(h, 0x2f, 4096);

  // Waiting on a never-recorded event does not block.
  cudaEvent_t fresh;
  CHECK(cudaEventCreate(&fresh));
  CHECK(cudaStreamWaitEvent(s2, fresh, 0));
  CHECK(cudaStreamSynchronize(s2));

  CHECK(cudaEventDestroy(fresh));
  CHECK(cudaEventDestroy(e));
  CHECK(cudaStreamDestroy(s1));
  CHECK(cudaStreamDestroy(s2));
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
}

static void test_events_timing() {
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  cudaEvent_t e0, e1, e2, blocking, untimed, never;
  CHECK(cudaEventCreate(&e0));
  CHECK(cudaEventCreateWithFlags(&e1, cudaEventDefault));
  CHECK(cudaEventCreateWithFlags(&e2, cudaEventBlockingSync));
  CHECK(cudaEventCreateWithFlags(&blocking, cudaEventBlockingSync | cudaEventDisableTiming));
  CHECK(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming));
  CHECK(cudaEventCreate(&never));

  // A never-recorded event counts as complete.
  CHECK(cudaEventQuery(never));
  CHECK(cudaEventSynchronize(never));
  float ms = -1.f;
  EXPECT_ERR(cudaEventElapsedTime(&ms, never, e0), cudaErrorInvalidResourceHandle);
  cudaGetLastError();

  // Recorded but not complete: cudaErrorNotReady.
  Gate g;
  CHECK(cudaEventRecord(e0, s));
  CHECK(cudaLaunchHostFunc(s, gate_fn, &g));
  CHECK(cudaEventRecord(e1, s));
  EXPECT_ERR(cudaEventElapsedTime(&ms, e0, e1), cudaErrorNotReady);
  cudaGetLastError();
  g.open = true;
  CHECK(cudaEventSynchronize(e1));
  expect_gate_ok(g, "timing");

  // Three events with known host-side delays between them.
  int delay = 30;
  CHECK(cudaEventRecord(e0, s));
  CHECK(cudaLaunchHostFunc(s, sleep_fn, &delay));
  CHECK(cudaEventRecord(e1, s));
  CHECK(cudaLaunchHostFunc(s, sleep_fn, &delay));
  CHECK(cudaEventRecord(e2, s));
  CHECK(cudaEventRecord(untimed, s));
  CHECK(cudaEventRecord(blocking, s));
  CHECK(cudaEventSynchronize(e2));
  CHECK(cudaEventSynchronize(blocking));
  CHECK(cudaEventQuery(e0));
  CHECK(cudaEventQuery(untimed));
  float t01 = -1.f, t12 = -1.f, t02 = -1.f;
  CHECK(cudaEventElapsedTime(&t01, e0, e1));
  CHECK(cudaEventElapsedTime(&t12, e1, e2));
  CHECK(cudaEventElapsedTime(&t02, e0, e2));
  std::printf("elapsed: e0->e1 %.3f ms, e1->e2 %.3f ms, e0->e2 %.3f ms\n", t01, t12, t02);
  // The stream was blocked ~30 ms in each host function between the records.
  EXPECT_MSG(t01 >= 20.f && t12 >= 20.f, "t01 %.3f, t12 %.3f should be >= 20 ms", t01, t12);
  EXPECT_MSG(t02 >= t01 && t02 >= t12, "later event earlier: %.3f %.3f %.3f", t01, t12, t02);
  EXPECT_MSG(t02 < 10000.f, "implausible elapsed time %.3f ms", t02);
  float same = -1.f;
  CHECK(cudaEventElapsedTime(&same, e1, e1));
  EXPECT(same == 0.f);

  // Events created with cudaEventDisableTiming cannot be timed.
  EXPECT_ERR(cudaEventElapsedTime(&ms, e0, untimed), cudaErrorInvalidResourceHandle);
  EXPECT_ERR(cudaEventElapsedTime(&ms, untimed, e2), cudaErrorInvalidResourceHandle);
  cudaGetLastError();

  // Events on the legacy default stream.
  CHECK(cudaEventRecord(e0, 0));
  CHECK(cudaEventRecord(e1));  // default argument: stream 0
  CHECK(cudaEventSynchronize(e1));
  CHECK(cudaEventElapsedTime(&ms, e0, e1));
  EXPECT(ms >= 0.f);

  // Destroying an event that is not complete yet returns immediately.
  Gate g2;
  cudaEvent_t pending;
  CHECK(cudaEventCreate(&pending));
  CHECK(cudaLaunchHostFunc(s, gate_fn, &g2));
  CHECK(cudaEventRecord(pending, s));
  CHECK(cudaEventDestroy(pending));
  g2.open = true;
  CHECK(cudaStreamSynchronize(s));
  expect_gate_ok(g2, "destroy pending event");

  for (cudaEvent_t e : {e0, e1, e2, blocking, untimed, never}) CHECK(cudaEventDestroy(e));
  CHECK(cudaStreamDestroy(s));
}

struct Ordered {
  std::atomic<int> counter{0};
  std::atomic<int> bad{0};  // index+1 of a callback that ran out of order
  cudaStream_t stream;
};
struct OrderedArg {
  Ordered* o;
  int index;
};

static void CUDART_CB ordered_host_fn(void* p) {
  OrderedArg* a = static_cast<OrderedArg*>(p);
  if (a->o->counter.load() != a->index) a->o->bad = a->index + 1;
  a->o->counter++;
}

static void CUDART_CB ordered_callback(cudaStream_t stream, cudaError_t status, void* p) {
  OrderedArg* a = static_cast<OrderedArg*>(p);
  // The callback gets the stream it was added to (the legacy stream may be
  // reported as 0 or as cudaStreamLegacy).
  bool same = stream == a->o->stream || (a->o->stream == 0 && stream == cudaStreamLegacy);
  if (status != cudaSuccess || !same) a->o->bad = 100 + a->index;
  if (a->o->counter.load() != a->index) a->o->bad = a->index + 1;
  a->o->counter++;
}

struct FilledCheck {
  const unsigned char* h;
  size_t n;
  unsigned char value;
  std::atomic<int> result{-1};  // 1 ok, 0 wrong contents
};

static void CUDART_CB filled_check_fn(void* p) {
  FilledCheck* c = static_cast<FilledCheck*>(p);
  int ok = 1;
  for (size_t i = 0; i < c->n; ++i)
    if (c->h[i] != c->value) { ok = 0; break; }
  c->result = ok;
}

static void test_host_callbacks() {
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  const size_t n = 1 << 20;
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  unsigned char *h = nullptr, *h2 = nullptr;
  CHECK(cudaMallocHost((void**)&h, n));
  CHECK(cudaMallocHost((void**)&h2, 64));
  std::memset(h, 0, n);
  std::memset(h2, 0, 64);

  // A host function sees the result of an earlier async D2H into pinned
  // memory, and runs before the later copy into h2.
  FilledCheck fc;
  fc.h = h;
  fc.n = n;
  fc.value = 0x77;
  Snapshot later;
  later.src = h2;
  later.n = 64;
  CHECK(cudaMemsetAsync(d, 0x77, n, s));
  CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, s));
  CHECK(cudaLaunchHostFunc(s, filled_check_fn, &fc));
  CHECK(cudaLaunchHostFunc(s, snapshot_fn, &later));
  CHECK(cudaMemcpyAsync(h2, d, 64, cudaMemcpyDeviceToHost, s));

  // Three callbacks of both kinds, interleaved with work, run in order.
  Ordered o;
  o.stream = s;
  OrderedArg a0{&o, 0}, a1{&o, 1}, a2{&o, 2};
  CHECK(cudaLaunchHostFunc(s, ordered_host_fn, &a0));
  CHECK(cudaMemsetAsync(d, 0x11, n, s));
  CHECK(cudaStreamAddCallback(s, ordered_callback, &a1, 0));
  CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, s));
  CHECK(cudaLaunchHostFunc(s, ordered_host_fn, &a2));
  CHECK(cudaStreamSynchronize(s));

  EXPECT_MSG(fc.result.load() == 1, "host function saw %s",
             fc.result.load() < 0 ? "nothing (never ran)" : "incomplete D2H data");
  EXPECT(later.taken.load());
  EXPECT_FILL(later.copy, 0x00, 64);  // the copy after the host function had not run yet
  EXPECT_FILL(h2, 0x77, 64);
  EXPECT_MSG(o.bad.load() == 0, "callback order/status problem code %d", o.bad.load());
  EXPECT_EQ(o.counter.load(), 3);
  EXPECT_FILL(h, 0x11, n);

  // Host functions on the legacy default stream.
  Ordered o2;
  o2.stream = 0;
  OrderedArg b0{&o2, 0}, b1{&o2, 1};
  CHECK(cudaLaunchHostFunc(0, ordered_host_fn, &b0));
  CHECK(cudaStreamAddCallback(0, ordered_callback, &b1, 0));
  CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(o2.bad.load(), 0);
  EXPECT_EQ(o2.counter.load(), 2);

  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
  CHECK(cudaFreeHost(h2));
}

static void test_default_stream_handles() {
  const size_t n = 64 * 1024;
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  unsigned char* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, n));
  const cudaStream_t handles[] = {0, cudaStreamLegacy, cudaStreamPerThread};
  unsigned char v = 0x10;
  for (cudaStream_t s : handles) {
    CHECK(cudaMemsetAsync(d, v, n, s));
    CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    CHECK(cudaStreamQuery(s));
    EXPECT_FILL(h, v, n);
    ++v;
  }

  // The legacy default stream waits for earlier work in blocking streams.
  cudaStream_t blocking;
  CHECK(cudaStreamCreate(&blocking));
  Gate g;
  std::memset(h, 0, n);
  CHECK(cudaLaunchHostFunc(blocking, gate_fn, &g));
  CHECK(cudaMemsetAsync(d, 0x3e, n, blocking));
  CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, cudaStreamLegacy));
  sleep_ms(30);
  EXPECT_ERR(cudaStreamQuery(0), cudaErrorNotReady);
  cudaGetLastError();
  EXPECT_EQ(h[0], 0);
  g.open = true;
  CHECK(cudaStreamSynchronize(0));
  expect_gate_ok(g, "legacy stream after blocking stream");
  EXPECT_FILL(h, 0x3e, n);

  // ... and later work in blocking streams waits for the legacy stream.
  Gate g2;
  CHECK(cudaLaunchHostFunc(0, gate_fn, &g2));
  CHECK(cudaMemsetAsync(d, 0x4f, n, 0));
  CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, blocking));
  sleep_ms(30);
  EXPECT_ERR(cudaStreamQuery(blocking), cudaErrorNotReady);
  cudaGetLastError();
  g2.open = true;
  CHECK(cudaStreamSynchronize(blocking));
  expect_gate_ok(g2, "blocking stream after legacy stream");
  EXPECT_FILL(h, 0x4f, n);

  // A non-blocking stream does not wait for the legacy stream. CUDA does not
  // promise concurrency, but a stream with no dependency on a blocked one is
  // never held back by it on any real implementation.
  cudaStream_t nb;
  CHECK(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking));
  void* d2 = nullptr;
  CHECK(cudaMalloc(&d2, n));
  unsigned char* h3 = nullptr;
  CHECK(cudaMallocHost((void**)&h3, n));
  Gate g3;
  CHECK(cudaLaunchHostFunc(0, gate_fn, &g3));
  CHECK(cudaMemsetAsync(d2, 0x61, n, nb));
  CHECK(cudaMemcpyAsync(h3, d2, n, cudaMemcpyDeviceToHost, nb));
  auto t0 = Clock::now();
  CHECK(cudaStreamSynchronize(nb));
  double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  bool legacy_still_blocked = !g3.open.load() && !g3.timed_out.load();
  g3.open = true;
  CHECK(cudaDeviceSynchronize());
  EXPECT_MSG(legacy_still_blocked && waited < 5.0,
             "non-blocking stream waited %.1f s for the blocked legacy stream", waited);
  EXPECT_FILL(h3, 0x61, n);

  CHECK(cudaStreamDestroy(nb));
  CHECK(cudaStreamDestroy(blocking));
  CHECK(cudaFree(d));
  CHECK(cudaFree(d2));
  CHECK(cudaFreeHost(h));
  CHECK(cudaFreeHost(h3));
}

static void test_destroy_with_pending_work() {
  const size_t n = 1 << 20;
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  unsigned char* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, n));
  std::memset(h, 0, n);
  Gate g;
  CHECK(cudaLaunchHostFunc(s, gate_fn, &g));
  CHECK(cudaMemsetAsync(d, 0x3c, n, s));
  CHECK(cudaMemcpyAsync(h, d, n, cudaMemcpyDeviceToHost, s));
  // "the function will return immediately and the resources associated with
  // stream will be released automatically once the device has completed all
  // work in stream"
  auto t0 = Clock::now();
  CHECK(cudaStreamDestroy(s));
  double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_MSG(took < 5.0 && !g.timed_out.load(),
             "cudaStreamDestroy waited %.1f s for pending work", took);
  g.open = true;
  CHECK(cudaDeviceSynchronize());
  expect_gate_ok(g, "destroy pending stream");
  EXPECT_FILL(h, 0x3c, n);
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
}

int main() {
  CHECK(cudaSetDevice(0));
  test_create_flags_priorities();
  test_query_and_synchronize();
  test_wait_event();
  test_events_timing();
  test_host_callbacks();
  test_default_stream_handles();
  test_destroy_with_pending_work();
  CHECK(cudaDeviceSynchronize());
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  std::printf("streams_events: OK\n");
  return 0;
}

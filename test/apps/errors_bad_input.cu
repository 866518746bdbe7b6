// Bad input: every misuse gets the code real CUDA returns, the error is
// recorded as the last error but is not sticky, and afterwards the process
// still works (an alloc + copy round trip) and an unrelated allocation (the
// sentinel) is unchanged. Also cudaGetLastError / cudaPeekAtLastError and
// the error name / string functions.
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "check.h"

using Bytes = std::vector<unsigned char>;

static const size_t kSentinelSize = 4u << 20;
static void* g_sentinel = nullptr;
static Bytes g_sentinel_data;
static bool g_pageable_access = false;  // HMM / ATS: device can use malloc'd memory

static void round_trip_ok(const char* after) {
  const size_t n = 64 * 1024 + 7;
  Bytes in(n), out(n, 0);
  fill_pattern(in.data(), n, 77);
  void* d = nullptr;
  cudaError_t e = cudaMalloc(&d, n);
  EXPECT_MSG(e == cudaSuccess, "after %s: cudaMalloc -> %s", after, cudaGetErrorName(e));
  e = cudaMemcpy(d, in.data(), n, cudaMemcpyHostToDevice);
  EXPECT_MSG(e == cudaSuccess, "after %s: H2D -> %s", after, cudaGetErrorName(e));
  e = cudaMemcpy(out.data(), d, n, cudaMemcpyDeviceToHost);
  EXPECT_MSG(e == cudaSuccess, "after %s: D2H -> %s", after, cudaGetErrorName(e));
  EXPECT_MSG(std::memcmp(in.data(), out.data(), n) == 0, "after %s: round trip data differs",
             after);
  e = cudaFree(d);
  EXPECT_MSG(e == cudaSuccess, "after %s: cudaFree -> %s", after, cudaGetErrorName(e));
  Bytes s(kSentinelSize);
  e = cudaMemcpy(s.data(), g_sentinel, kSentinelSize, cudaMemcpyDeviceToHost);
  EXPECT_MSG(e == cudaSuccess, "after %s: sentinel read -> %s", after, cudaGetErrorName(e));
  EXPECT_MSG(std::memcmp(s.data(), g_sentinel_data.data(), kSentinelSize) == 0,
             "after %s: sentinel allocation was modified", after);
}

// `got` is what the bad call returned; it must be one of the accepted codes,
// be the recorded last error, be cleared by cudaGetLastError, and leave the
// device usable.
static void after_bad(const char* what, cudaError_t got, cudaError_t want1,
                      cudaError_t want2 = cudaSuccess) {
  EXPECT_MSG(got == want1 || (want2 != cudaSuccess && got == want2), "%s -> %s, expected %s%s%s",
             what, cudaGetErrorName(got), cudaGetErrorName(want1), want2 ? " or " : "",
             want2 ? cudaGetErrorName(want2) : "");
  cudaError_t last = cudaGetLastError();
  EXPECT_MSG(last == got, "%s: cudaGetLastError -> %s, expected %s", what, cudaGetErrorName(last),
             cudaGetErrorName(got));
  last = cudaGetLastError();
  EXPECT_MSG(last == cudaSuccess, "%s: second cudaGetLastError -> %s", what,
             cudaGetErrorName(last));
  cudaError_t sync = cudaDeviceSynchronize();
  EXPECT_MSG(sync == cudaSuccess, "%s: error became sticky, cudaDeviceSynchronize -> %s", what,
             cudaGetErrorName(sync));
  round_trip_ok(what);
}

static void test_bad_free() {
  void* p = nullptr;
  CHECK(cudaMalloc(&p, 1 << 20));
  CHECK(cudaFree(p));
  after_bad("cudaFree twice", cudaFree(p), cudaErrorInvalidValue);

  after_bad("cudaFree(never allocated)", cudaFree((void*)(uintptr_t)0x1000), cudaErrorInvalidValue);

  void* q = nullptr;
  CHECK(cudaMalloc(&q, 1 << 20));
  Bytes in(1 << 20);
  fill_pattern(in.data(), in.size(), 5);
  CHECK(cudaMemcpy(q, in.data(), in.size(), cudaMemcpyHostToDevice));
  after_bad("cudaFree(interior pointer)", cudaFree((char*)q + 256), cudaErrorInvalidValue);
  // The allocation survived the bad free.
  Bytes out(in.size());
  CHECK(cudaMemcpy(out.data(), q, out.size(), cudaMemcpyDeviceToHost));
  EXPECT_BYTES_EQ(out.data(), in.data(), in.size());
  CHECK(cudaFree(q));

  std::vector<char> host(4096);
  after_bad("cudaFree(malloc'd host pointer)", cudaFree(host.data()), cudaErrorInvalidValue);
  int on_stack = 0;
  after_bad("cudaFree(stack pointer)", cudaFree(&on_stack), cudaErrorInvalidValue);
}

static void test_out_of_bounds() {
  // Overruns far past the end, so that no allocation granularity or
  // neighbouring allocation can make the range look valid.
  const size_t n = 1u << 20, over = n + (16u << 20);
  void *small = nullptr, *big = nullptr;
  CHECK(cudaMalloc(&big, over));
  CHECK(cudaMalloc(&small, n));
  Bytes small_data(n);
  fill_pattern(small_data.data(), n, 8);
  CHECK(cudaMemcpy(small, small_data.data(), n, cudaMemcpyHostToDevice));
  Bytes host(over, 0xcd);
  Bytes host_copy = host;

  after_bad("H2D past the end", cudaMemcpy(small, host.data(), over, cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  after_bad("D2H past the end", cudaMemcpy(host.data(), small, over, cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  EXPECT_MSG(std::memcmp(host.data(), host_copy.data(), over) == 0,
             "failed D2H wrote into the host buffer");
  after_bad("D2D source past the end",
            cudaMemcpy(big, small, over, cudaMemcpyDeviceToDevice), cudaErrorInvalidValue);
  after_bad("D2D destination past the end",
            cudaMemcpy(small, big, over, cudaMemcpyDeviceToDevice), cudaErrorInvalidValue);
  after_bad("D2D from an offset past the end",
            cudaMemcpy(big, (char*)small + n / 2, n + (8u << 20), cudaMemcpyDeviceToDevice),
            cudaErrorInvalidValue);
  after_bad("cudaMemcpyAsync H2D past the end",
            cudaMemcpyAsync(small, host.data(), over, cudaMemcpyHostToDevice, 0),
            cudaErrorInvalidValue);
  after_bad("cudaMemset past the end", cudaMemset(small, 0, over), cudaErrorInvalidValue);
  after_bad("cudaMemset from an offset past the end",
            cudaMemset((char*)small + n / 2, 0, n + (8u << 20)), cudaErrorInvalidValue);
  after_bad("cudaMemsetAsync past the end", cudaMemsetAsync(small, 0, over, 0),
            cudaErrorInvalidValue);

  // None of the refused operations touched the small allocation.
  Bytes got(n);
  CHECK(cudaMemcpy(got.data(), small, n, cudaMemcpyDeviceToHost));
  EXPECT_BYTES_EQ(got.data(), small_data.data(), n);
  CHECK(cudaFree(small));
  CHECK(cudaFree(big));
}

static void test_host_pointer_as_device_pointer() {
  const size_t n = 64 * 1024;
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  std::vector<unsigned char> host(n, 0x21);
  // A malloc'd pointer is not device memory; with an explicit device kind
  // the runtime refuses it. On systems where the device can access pageable
  // memory (HMM / ATS, cudaDevAttrPageableMemoryAccess = 1) the same call is
  // legal and succeeds, so success is accepted only there.
  const bool may_succeed = g_pageable_access;
  cudaError_t e = cudaMemcpy(d, host.data(), n, cudaMemcpyDeviceToDevice);
  if (!(e == cudaSuccess && may_succeed)) after_bad("D2D with a host source", e, cudaErrorInvalidValue);
  e = cudaMemcpy(host.data(), d, n, cudaMemcpyDeviceToDevice);
  if (!(e == cudaSuccess && may_succeed))
    after_bad("D2D with a host destination", e, cudaErrorInvalidValue);
  e = cudaMemset(host.data(), 0, n);
  if (!(e == cudaSuccess && may_succeed))
    after_bad("cudaMemset on a host pointer", e, cudaErrorInvalidValue);
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaFree(d));
}

static void test_destroyed_handles() {
  void* d = nullptr;
  CHECK(cudaMalloc(&d, 4096));
  unsigned char h[16] = {0};

  // Using a destroyed handle is undefined behaviour in the reference; the
  // runtime reports it as cudaErrorInvalidResourceHandle, and some releases
  // as cudaErrorContextIsDestroyed (seen through the runtime's own handle
  // validation), so both are accepted. No stream or event is created between
  // the destroy and the use, so the handle value cannot have been recycled.
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  CHECK(cudaStreamDestroy(s));
  after_bad("cudaStreamSynchronize(destroyed stream)", cudaStreamSynchronize(s),
            cudaErrorInvalidResourceHandle, cudaErrorContextIsDestroyed);
  after_bad("cudaMemcpyAsync on a destroyed stream",
            cudaMemcpyAsync(d, h, sizeof(h), cudaMemcpyHostToDevice, s),
            cudaErrorInvalidResourceHandle, cudaErrorContextIsDestroyed);

  cudaEvent_t e;
  CHECK(cudaEventCreate(&e));
  CHECK(cudaEventDestroy(e));
  after_bad("cudaEventRecord(destroyed event)", cudaEventRecord(e, 0),
            cudaErrorInvalidResourceHandle, cudaErrorContextIsDestroyed);
  after_bad("cudaEventQuery(destroyed event)", cudaEventQuery(e), cudaErrorInvalidResourceHandle,
            cudaErrorContextIsDestroyed);
  after_bad("cudaEventSynchronize(destroyed event)", cudaEventSynchronize(e),
            cudaErrorInvalidResourceHandle, cudaErrorContextIsDestroyed);
  CHECK(cudaFree(d));
}

static void test_huge_allocations() {
  void* p = nullptr;
  after_bad("cudaMalloc(SIZE_MAX)", cudaMalloc(&p, SIZE_MAX), cudaErrorMemoryAllocation);
  // Rounding this up to any alignment overflows.
  after_bad("cudaMalloc(SIZE_MAX - 100)", cudaMalloc(&p, SIZE_MAX - 100),
            cudaErrorMemoryAllocation);
  after_bad("cudaMalloc(1 PiB)", cudaMalloc(&p, size_t(1) << 50), cudaErrorMemoryAllocation);
  after_bad("cudaMallocHost(SIZE_MAX)", cudaMallocHost(&p, SIZE_MAX), cudaErrorMemoryAllocation);
  after_bad("cudaMalloc(nullptr, 16)", cudaMalloc(nullptr, 16), cudaErrorInvalidValue);
}

static void test_bad_kind_and_null() {
  void* d = nullptr;
  CHECK(cudaMalloc(&d, 4096));
  unsigned char h[64] = {0};
  const cudaMemcpyKind bad = (cudaMemcpyKind)7;
  after_bad("cudaMemcpy kind 7", cudaMemcpy(d, h, 16, bad), cudaErrorInvalidMemcpyDirection);
  after_bad("cudaMemcpyAsync kind 7", cudaMemcpyAsync(d, h, 16, bad, 0),
            cudaErrorInvalidMemcpyDirection);
  after_bad("cudaMemcpy2D kind 7", cudaMemcpy2D(d, 64, h, 64, 16, 1, bad),
            cudaErrorInvalidMemcpyDirection);

  after_bad("H2D to nullptr", cudaMemcpy(nullptr, h, 16, cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  after_bad("H2D from nullptr", cudaMemcpy(d, nullptr, 16, cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  after_bad("D2H to nullptr", cudaMemcpy(nullptr, d, 16, cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  after_bad("D2D from nullptr", cudaMemcpy(d, nullptr, 16, cudaMemcpyDeviceToDevice),
            cudaErrorInvalidValue);
  after_bad("cudaMemset(nullptr)", cudaMemset(nullptr, 0, 16), cudaErrorInvalidValue);
  CHECK(cudaFree(d));
}

static void test_last_error_semantics() {
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  EXPECT_ERR(cudaPeekAtLastError(), cudaSuccess);
  void* p = nullptr;
  EXPECT_ERR(cudaMalloc(&p, SIZE_MAX), cudaErrorMemoryAllocation);
  // A later successful call does not clear the recorded error.
  void* q = nullptr;
  CHECK(cudaMalloc(&q, 256));
  CHECK(cudaFree(q));
  EXPECT_ERR(cudaPeekAtLastError(), cudaErrorMemoryAllocation);
  EXPECT_ERR(cudaPeekAtLastError(), cudaErrorMemoryAllocation);  // peek does not clear
  EXPECT_ERR(cudaGetLastError(), cudaErrorMemoryAllocation);     // get returns and clears
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  EXPECT_ERR(cudaPeekAtLastError(), cudaSuccess);

  // The most recent error wins.
  unsigned char h[16];
  EXPECT_ERR(cudaMalloc(&p, SIZE_MAX), cudaErrorMemoryAllocation);
  EXPECT_ERR(cudaMemcpy(h, h, 16, (cudaMemcpyKind)7), cudaErrorInvalidMemcpyDirection);
  EXPECT_ERR(cudaGetLastError(), cudaErrorInvalidMemcpyDirection);
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);

  // The last error is per host thread.
  EXPECT_ERR(cudaMalloc(&p, SIZE_MAX), cudaErrorMemoryAllocation);
  cudaError_t other_before = cudaErrorUnknown, other_after = cudaErrorUnknown;
  std::thread t([&] {
    other_before = cudaGetLastError();
    void* r = nullptr;
    (void)cudaMalloc(&r, SIZE_MAX);
    other_after = cudaGetLastError();
  });
  t.join();
  EXPECT_ERR(other_before, cudaSuccess);
  EXPECT_ERR(other_after, cudaErrorMemoryAllocation);
  EXPECT_ERR(cudaGetLastError(), cudaErrorMemoryAllocation);  // ours is still there
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
}

static void test_error_strings() {
  struct Named { cudaError_t code; const char* name; };
  const Named names[] = {
      {cudaSuccess, "cudaSuccess"},
      {cudaErrorInvalidValue, "cudaErrorInvalidValue"},
      {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation"},
      {cudaErrorInvalidDevice, "cudaErrorInvalidDevice"},
      {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection"},
      {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle"},
      {cudaErrorNotReady, "cudaErrorNotReady"},
      {cudaErrorInvalidDeviceFunction, "cudaErrorInvalidDeviceFunction"},
      {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration"},
      {cudaErrorNoKernelImageForDevice, "cudaErrorNoKernelImageForDevice"},
      {cudaErrorInvalidSymbol, "cudaErrorInvalidSymbol"},
      {cudaErrorIllegalAddress, "cudaErrorIllegalAddress"},
      {cudaErrorLaunchFailure, "cudaErrorLaunchFailure"},
      {cudaErrorNotSupported, "cudaErrorNotSupported"},
  };
  for (const Named& n : names) {
    const char* got = cudaGetErrorName(n.code);
    EXPECT_MSG(got && std::strcmp(got, n.name) == 0, "cudaGetErrorName(%d) = %s, expected %s",
               (int)n.code, got ? got : "(null)", n.name);
    const char* str = cudaGetErrorString(n.code);
    EXPECT_MSG(str && str[0] != '\0', "cudaGetErrorString(%s) is empty", n.name);
  }
  // Descriptions that have been stable for many releases.
  EXPECT(std::strcmp(cudaGetErrorString(cudaSuccess), "no error") == 0);
  EXPECT(std::strcmp(cudaGetErrorString(cudaErrorInvalidValue), "invalid argument") == 0);
  EXPECT(std::strcmp(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory") == 0);
  // Unknown codes still give non-null strings.
  const char* un = cudaGetErrorName((cudaError_t)12345);
  const char* us = cudaGetErrorString((cudaError_t)12345);
  EXPECT(un != nullptr && us != nullptr && us[0] != '\0');
  // Looking up names does not disturb the last error.
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
}

int main() {
  CHECK(cudaSetDevice(0));
  int pageable = 0;
  CHECK(cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess, 0));
  g_pageable_access = pageable != 0;
  g_sentinel_data.resize(kSentinelSize);
  fill_pattern(g_sentinel_data.data(), kSentinelSize, 1234);
  CHECK(cudaMalloc(&g_sentinel, kSentinelSize));
  CHECK(cudaMemcpy(g_sentinel, g_sentinel_data.data(), kSentinelSize, cudaMemcpyHostToDevice));

  test_bad_free();
  test_out_of_bounds();
  test_host_pointer_as_device_pointer();
  test_destroyed_handles();
  test_huge_allocations();
  test_bad_kind_and_null();
  test_last_error_semantics();
  test_error_strings();

  round_trip_ok("all tests");
  CHECK(cudaFree(g_sentinel));
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  std::printf("errors_bad_input: OK\n");
  return 0;
}

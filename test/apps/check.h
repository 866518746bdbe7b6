// Tiny self-check helpers for the CUDA test programs: every failure names its
// line and exits 1, so `meson test` shows exactly what broke.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>

#define CHECK(call)                                                                \
  do {                                                                             \
    cudaError_t err_ = (call);                                                     \
    if (err_ != cudaSuccess) {                                                     \
      std::fprintf(stderr, "%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #call,    \
                   cudaGetErrorName(err_), cudaGetErrorString(err_));              \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

#define EXPECT_ERR(call, expected)                                                 \
  do {                                                                             \
    cudaError_t err_ = (call);                                                     \
    if (err_ != (expected)) {                                                      \
      std::fprintf(stderr, "%s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__,  \
                   #call, cudaGetErrorName(err_), cudaGetErrorName(expected));     \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

#define EXPECT(cond)                                                               \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);     \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

// The call must return one of two codes: used only where real CUDA versions
// are documented (or known) to differ; each use says why in a comment.
#define EXPECT_ERR2(call, expected1, expected2)                                    \
  do {                                                                             \
    cudaError_t err_ = (call);                                                     \
    if (err_ != (expected1) && err_ != (expected2)) {                              \
      std::fprintf(stderr, "%s:%d: %s -> %s, expected %s or %s\n", __FILE__,      \
                   __LINE__, #call, cudaGetErrorName(err_),                        \
                   cudaGetErrorName(expected1), cudaGetErrorName(expected2));      \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

// Integer equality that prints both values on failure.
#define EXPECT_EQ(a, b)                                                            \
  do {                                                                             \
    long long a_ = (long long)(a), b_ = (long long)(b);                            \
    if (a_ != b_) {                                                                \
      std::fprintf(stderr, "%s:%d: expected %s == %s (%lld vs %lld)\n", __FILE__,  \
                   __LINE__, #a, #b, a_, b_);                                      \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

// Condition with a printf-style explanation.
#define EXPECT_MSG(cond, ...)                                                      \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: expected %s: ", __FILE__, __LINE__, #cond);     \
      std::fprintf(stderr, __VA_ARGS__);                                           \
      std::fprintf(stderr, "\n");                                                  \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

// Byte-exact comparison of two buffers; reports the first differing offset.
inline void expect_bytes_eq_(const void* got, const void* want, size_t n, const char* what,
                             const char* file, int line) {
  const unsigned char* g = static_cast<const unsigned char*>(got);
  const unsigned char* w = static_cast<const unsigned char*>(want);
  for (size_t i = 0; i < n; ++i) {
    if (g[i] != w[i]) {
      std::fprintf(stderr, "%s:%d: %s: byte %zu of %zu is 0x%02x, expected 0x%02x\n", file,
                   line, what, i, n, g[i], w[i]);
      std::exit(1);
    }
  }
}
#define EXPECT_BYTES_EQ(got, want, n) expect_bytes_eq_((got), (want), (n), #got, __FILE__, __LINE__)

// Every byte of [p, p+n) must equal v.
inline void expect_fill_(const void* p, unsigned char v, size_t n, const char* what,
                         const char* file, int line) {
  const unsigned char* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != v) {
      std::fprintf(stderr, "%s:%d: %s: byte %zu of %zu is 0x%02x, expected 0x%02x\n", file,
                   line, what, i, n, b[i], v);
      std::exit(1);
    }
  }
}
#define EXPECT_FILL(p, v, n) expect_fill_((p), (unsigned char)(v), (n), #p, __FILE__, __LINE__)

// Deterministic test pattern: byte i of a buffer seeded with `seed`.
inline unsigned char pattern_byte(size_t i, unsigned seed) {
  size_t x = i * 2654435761u + seed * 40503u + (i >> 8) * 7u;
  return (unsigned char)(x ^ (x >> 13) ^ (x >> 21));
}
inline void fill_pattern(void* p, size_t n, unsigned seed) {
  unsigned char* b = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) b[i] = pattern_byte(i, seed);
}

// Kernel launches. A device that cannot execute kernels (MoAI's CPU backend
// before its PTX engine) refuses them with cudaErrorNoKernelImageForDevice.
// Pass the launch's result (cudaLaunchKernel's return value, or
// cudaGetLastError() right after a <<<>>> launch). Returns true when the
// kernel was accepted, so its results must be checked. Returns false when it
// was refused, after checking that the refusal is not sticky: the error is
// cleared by cudaGetLastError and the device still synchronises and copies.
inline bool launch_accepted_(cudaError_t ret, const char* what, const char* file, int line) {
  if (ret == cudaSuccess) return true;
  if (ret != cudaErrorNoKernelImageForDevice) {
    std::fprintf(stderr, "%s:%d: launch of %s -> %s (%s)\n", file, line, what,
                 cudaGetErrorName(ret), cudaGetErrorString(ret));
    std::exit(1);
  }
  static bool said = false;
  if (!said) {
    std::printf("kernels not executable on this device: skipping result checks\n");
    said = true;
  }
  (void)cudaGetLastError();
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s:%d: after refused launch of %s the error is sticky: %s\n", file, line,
                 what, cudaGetErrorName(e));
    std::exit(1);
  }
  unsigned char in[256], out[256];
  for (int i = 0; i < 256; ++i) in[i] = (unsigned char)(i * 7 + 1);
  void* d = nullptr;
  e = cudaMalloc(&d, sizeof(in));
  if (e == cudaSuccess) e = cudaMemcpy(d, in, sizeof(in), cudaMemcpyHostToDevice);
  if (e == cudaSuccess) e = cudaMemcpy(out, d, sizeof(out), cudaMemcpyDeviceToHost);
  if (e == cudaSuccess) e = cudaFree(d);
  if (e != cudaSuccess || std::memcmp(in, out, sizeof(in)) != 0) {
    std::fprintf(stderr, "%s:%d: after refused launch of %s a copy round trip fails: %s\n", file,
                 line, what, cudaGetErrorName(e));
    std::exit(1);
  }
  return false;
}
#define LAUNCH_ACCEPTED(ret, what) launch_accepted_((ret), (what), __FILE__, __LINE__)

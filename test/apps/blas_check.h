// Helpers for the cuBLAS test programs: status checks, device buffers,
// deterministic data, element conversions, double-precision references and
// comparisons with a tolerance per dtype.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <complex>
#include <vector>

#include "check.h"

#define CUBLAS_CHECK(call)                                                              \
  do {                                                                                  \
    cublasStatus_t st_ = (call);                                                        \
    if (st_ != CUBLAS_STATUS_SUCCESS) {                                                 \
      std::fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,              \
                   cublasGetStatusName(st_));                                           \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

#define EXPECT_STATUS(call, expected)                                                   \
  do {                                                                                  \
    cublasStatus_t st_ = (call);                                                        \
    if (st_ != (expected)) {                                                            \
      std::fprintf(stderr, "%s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__, #call, \
                   cublasGetStatusName(st_), cublasGetStatusName(expected));            \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

using cdouble = std::complex<double>;

// Element types as doubles (complex ones as complex<double>) and back.
inline double toDouble(float v) { return v; }
inline double toDouble(double v) { return v; }
inline double toDouble(__half v) { return __half2float(v); }
inline double toDouble(__nv_bfloat16 v) { return __bfloat162float(v); }
inline cdouble toDouble(cuComplex v) { return {v.x, v.y}; }
inline cdouble toDouble(cuDoubleComplex v) { return {v.x, v.y}; }

template <class T>
T fromDouble(cdouble v) {
  if constexpr (std::is_same_v<T, cuComplex>) {
    return make_cuComplex(float(v.real()), float(v.imag()));
  } else if constexpr (std::is_same_v<T, cuDoubleComplex>) {
    return make_cuDoubleComplex(v.real(), v.imag());
  } else if constexpr (std::is_same_v<T, __half>) {
    return __float2half(float(v.real()));
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16(float(v.real()));
  } else {
    return T(v.real());
  }
}

template <class T>
constexpr bool isComplex() {
  return std::is_same_v<T, cuComplex> || std::is_same_v<T, cuDoubleComplex>;
}

// Relative tolerance of one rounded result of T (results of long sums get
// it scaled by the sum's magnitude, see expectNear).
template <class T>
double tolerance() {
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, cuDoubleComplex>) return 1e-12;
  if constexpr (std::is_same_v<T, __half>) return 2e-3;
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return 1.6e-2;
  return 2e-6;
}

// Deterministic values in [-1, 1), exactly representable in every type we
// test (multiples of 1/64), so references see the same inputs.
template <class T>
std::vector<T> pattern(size_t n, unsigned seed) {
  std::vector<T> v(n);
  unsigned x = seed * 2654435761u + 12345u;
  auto next = [&] {
    x = x * 1103515245u + 12345u;
    return double(int((x >> 16) % 128) - 64) / 64.0;
  };
  for (auto& e : v) {
    double re = next();
    e = fromDouble<T>(cdouble(re, isComplex<T>() ? next() : 0.0));
  }
  return v;
}

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  size_t n = 0;
  explicit DeviceBuffer(size_t count) : n(count) { CHECK(cudaMalloc(&p, (n ? n : 1) * sizeof(T))); }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const std::vector<T>& host) {
    CHECK(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(n);
    CHECK(cudaMemcpy(host.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
};

// op(X)(i, j) of a column-major matrix for a cuBLAS operation.
template <class T>
cdouble opAt(const T* x, int64_t ld, cublasOperation_t op, int64_t i, int64_t j) {
  if (op == CUBLAS_OP_N) return toDouble(x[i + j * ld]);
  cdouble v = toDouble(x[j + i * ld]);
  return op == CUBLAS_OP_C ? std::conj(v) : v;
}

// C = alpha op(A) op(B) + beta C in double; C is m x n with ldc. Also
// returns, per element, the sum of |terms| for the tolerance.
template <class TA, class TC>
std::vector<cdouble> refGemm(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                             cdouble alpha, const TA* A, int64_t lda, const TA* B, int64_t ldb, cdouble beta,
                             const TC* C, int64_t ldc, std::vector<double>* magnitude) {
  std::vector<cdouble> out(size_t(m * n));
  magnitude->assign(size_t(m * n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t i = 0; i < m; ++i) {
      cdouble s = 0;
      double mag = 0;
      for (int64_t l = 0; l < k; ++l) {
        cdouble t = opAt(A, lda, ta, i, l) * opAt(B, ldb, tb, l, j);
        s += t;
        mag += std::abs(t);
      }
      cdouble c = beta == cdouble(0) ? cdouble(0) : beta * toDouble(C[i + j * ldc]);
      out[size_t(i + j * m)] = alpha * s + c;
      (*magnitude)[size_t(i + j * m)] = std::abs(alpha) * mag + std::abs(c);
    }
  }
  return out;
}

// |got - want| <= tol * (magnitude + |want|) + tiny, element (i, j) of a
// column-major result with leading dimension ld; names the first mismatch.
template <class T>
void expectNear(const std::vector<T>& got, int64_t ld, const std::vector<cdouble>& want,
                const std::vector<double>& magnitude, int64_t m, int64_t n, double tol, const char* what) {
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t i = 0; i < m; ++i) {
      cdouble g = toDouble(got[size_t(i + j * ld)]);
      cdouble w = want[size_t(i + j * m)];
      double bound = tol * (magnitude[size_t(i + j * m)] + std::abs(w)) + 1e-30;
      if (!(std::abs(g - w) <= bound)) {
        std::fprintf(stderr, "%s: element (%lld, %lld) is (%g, %g), expected (%g, %g) +- %g\n", what,
                     (long long)i, (long long)j, g.real(), g.imag(), w.real(), w.imag(), bound);
        std::exit(1);
      }
    }
  }
}

// Elements of a padded leading dimension must stay as they were.
template <class T>
void expectPaddingKept(const std::vector<T>& got, const std::vector<T>& before, int64_t ld, int64_t m, int64_t n,
                       const char* what) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = m; i < ld; ++i)
      if (std::memcmp(&got[size_t(i + j * ld)], &before[size_t(i + j * ld)], sizeof(T)) != 0) {
        std::fprintf(stderr, "%s: padding element (%lld, %lld) was written\n", what, (long long)i, (long long)j);
        std::exit(1);
      }
}

inline const char* opName(cublasOperation_t op) { return op == CUBLAS_OP_N ? "N" : op == CUBLAS_OP_T ? "T" : "C"; }

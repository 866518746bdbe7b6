// The BLAS routines other than GEMM on the CPU, through OpenBLAS; geam and
// dgmm, which BLAS lacks, are loops.
#include <cblas.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "modnn/cpu/ops/op_kinds.h"
#include "modnn/cpu/ops/op_memory.h"

namespace modnn::cpu {
namespace {

// cblas_s<name> for float, cblas_d<name> for double.
#define MOAI_CBLAS(name, ...)                  \
  [&] {                                        \
    if constexpr (std::is_same_v<T, float>) {  \
      return cblas_s##name(__VA_ARGS__);       \
    } else {                                   \
      return cblas_d##name(__VA_ARGS__);       \
    }                                          \
  }()
#define MOAI_CBLAS_INDEX(name, ...)            \
  [&] {                                        \
    if constexpr (std::is_same_v<T, float>) {  \
      return cblas_is##name(__VA_ARGS__);      \
    } else {                                   \
      return cblas_id##name(__VA_ARGS__);      \
    }                                          \
  }()

bool fits(int64_t v) { return v >= -INT_MAX && v <= INT_MAX; }

// Element i of a vector in BLAS order (a negative increment walks back from
// the last element, which is at the lowest address + (n-1)|inc|).
template <class T>
T& at(T* v, int64_t n, int64_t inc, int64_t i) {
  return v[inc >= 0 ? i * inc : (n - 1 - i) * -inc];
}

template <class T>
void store(uint8_t* p, modnn_dtype t, T v) {
  switch (t) {
    case MODNN_F32: *reinterpret_cast<float*>(p) = float(v); break;
    case MODNN_F64: *reinterpret_cast<double*>(p) = double(v); break;
    case MODNN_I32: *reinterpret_cast<int32_t*>(p) = int32_t(v); break;
    case MODNN_I64: *reinterpret_cast<int64_t*>(p) = int64_t(v); break;
    default: break;
  }
}

template <class T>
void geam(const modnn_blas& b, T alpha, const T* a, T beta, const T* bm, T* c) {
  for (int64_t j = 0; j < b.n; ++j) {
    for (int64_t i = 0; i < b.m; ++i) {
      T v = T(0);
      if (alpha != T(0)) v += alpha * (b.trans_a ? a[j + i * b.lda] : a[i + j * b.lda]);
      if (beta != T(0)) v += beta * (b.trans_b ? bm[j + i * b.ldb] : bm[i + j * b.ldb]);
      c[i + j * b.ldc] = v;
    }
  }
}

template <class T>
void dgmm(const modnn_blas& b, const T* a, T* x, T* c) {
  int64_t len = b.right ? b.n : b.m;
  for (int64_t j = 0; j < b.n; ++j)
    for (int64_t i = 0; i < b.m; ++i)
      c[i + j * b.ldc] = a[i + j * b.lda] * at(x, len, b.incx, b.right ? j : i);
}

template <class T>
modnn_status runTyped(const OpDevice& dev, const modnn_blas& b) {
  double av[2], bv[2];
  loadScalar(dev, b.alpha, b.alpha_ptr, b.type, av);
  loadScalar(dev, b.beta, b.beta_ptr, b.type, bv);
  T alpha = T(av[0]), beta = T(bv[0]);
  int m = int(b.m), n = int(b.n), incx = int(b.incx), incy = int(b.incy);
  int lda = int(b.lda), ldb = int(b.ldb), ldc = int(b.ldc);
  size_t es = sizeof(T);
  auto vec = [&](uint64_t va, int64_t len, int64_t inc) {
    return reinterpret_cast<T*>(operand(dev, va, vectorBytes(len, inc, es)));
  };
  auto mat = [&](uint64_t va, int64_t rows, int64_t cols, int64_t ld) {
    return reinterpret_cast<T*>(operand(dev, va, matrixBytes(rows, cols, ld, es)));
  };
  uint8_t* result = b.result ? operand(dev, b.result, modnn_dtype_size(b.result_type)) : nullptr;
  // Reductions of nothing (or of a vector with a non-positive stride) are 0.
  bool empty = n <= 0 || (incx <= 0 && b.fn != MODNN_BLAS_DOT);
  switch (b.fn) {
    case MODNN_BLAS_AXPY: MOAI_CBLAS(axpy, n, alpha, vec(b.x, n, incx), incx, vec(b.y, n, incy), incy); break;
    case MODNN_BLAS_SCAL: MOAI_CBLAS(scal, n, alpha, vec(b.x, n, incx), incx); break;
    case MODNN_BLAS_COPY: MOAI_CBLAS(copy, n, vec(b.x, n, incx), incx, vec(b.y, n, incy), incy); break;
    case MODNN_BLAS_SWAP: MOAI_CBLAS(swap, n, vec(b.x, n, incx), incx, vec(b.y, n, incy), incy); break;
    case MODNN_BLAS_DOT:
      store<T>(result, b.result_type,
               n <= 0 ? T(0) : MOAI_CBLAS(dot, n, vec(b.x, n, incx), incx, vec(b.y, n, incy), incy));
      break;
    case MODNN_BLAS_NRM2:
      store<T>(result, b.result_type, empty ? T(0) : MOAI_CBLAS(nrm2, n, vec(b.x, n, incx), incx));
      break;
    case MODNN_BLAS_ASUM:
      store<T>(result, b.result_type, empty ? T(0) : MOAI_CBLAS(asum, n, vec(b.x, n, incx), incx));
      break;
    case MODNN_BLAS_IAMAX:  // BLAS counts from 0, cuBLAS from 1
      store<int64_t>(result, b.result_type, empty ? 0 : MOAI_CBLAS_INDEX(amax, n, vec(b.x, n, incx), incx) + 1);
      break;
    case MODNN_BLAS_IAMIN:
      store<int64_t>(result, b.result_type, empty ? 0 : MOAI_CBLAS_INDEX(amin, n, vec(b.x, n, incx), incx) + 1);
      break;
    case MODNN_BLAS_GEMV: {
      int64_t lx = b.trans_a ? m : n, ly = b.trans_a ? n : m;
      MOAI_CBLAS(gemv, CblasColMajor, b.trans_a ? CblasTrans : CblasNoTrans, m, n, alpha, mat(b.a, m, n, lda), lda,
                 vec(b.x, lx, incx), incx, beta, vec(b.y, ly, incy), incy);
      break;
    }
    case MODNN_BLAS_GER:
      MOAI_CBLAS(ger, CblasColMajor, m, n, alpha, vec(b.x, m, incx), incx, vec(b.y, n, incy), incy,
                 mat(b.a, m, n, lda), lda);
      break;
    case MODNN_BLAS_GEAM:
      geam<T>(b, alpha, alpha != T(0) ? mat(b.a, b.trans_a ? n : m, b.trans_a ? m : n, lda) : nullptr, beta,
              beta != T(0) ? mat(b.b, b.trans_b ? n : m, b.trans_b ? m : n, ldb) : nullptr, mat(b.c, m, n, ldc));
      break;
    case MODNN_BLAS_DGMM:
      dgmm<T>(b, mat(b.a, m, n, lda), vec(b.x, b.right ? n : m, incx), mat(b.c, m, n, ldc));
      break;
    case MODNN_BLAS_TRSM: {
      int64_t an = b.right ? n : m;
      MOAI_CBLAS(trsm, CblasColMajor, b.right ? CblasRight : CblasLeft, b.upper ? CblasUpper : CblasLower,
                 b.trans_a ? CblasTrans : CblasNoTrans, b.unit_diag ? CblasUnit : CblasNonUnit, m, n, alpha,
                 mat(b.a, an, an, lda), lda, mat(b.b, m, n, ldb), ldb);
      break;
    }
    case MODNN_BLAS_SYRK: {
      int64_t rows = b.trans_a ? b.k : n, cols = b.trans_a ? n : b.k;
      MOAI_CBLAS(syrk, CblasColMajor, b.upper ? CblasUpper : CblasLower, b.trans_a ? CblasTrans : CblasNoTrans, n,
                 int(b.k), alpha, mat(b.a, rows, cols, lda), lda, beta, mat(b.c, n, n, ldc), ldc);
      break;
    }
  }
  return MODNN_OK;
}

}  // namespace

bool supportsBlas(const modnn_blas& b) {
  if (b.type != MODNN_F32 && b.type != MODNN_F64) return false;
  if (b.fn < MODNN_BLAS_AXPY || b.fn > MODNN_BLAS_SYRK) return false;
  for (int64_t v : {b.m, b.n, b.k, b.lda, b.ldb, b.ldc, b.incx, b.incy})
    if (!fits(v)) return false;
  switch (b.fn) {
    case MODNN_BLAS_DOT:
    case MODNN_BLAS_NRM2:
    case MODNN_BLAS_ASUM: return b.result_type == b.type;
    case MODNN_BLAS_IAMAX:
    case MODNN_BLAS_IAMIN: return b.result_type == MODNN_I32 || b.result_type == MODNN_I64;
    default: return true;
  }
}

modnn_status runBlas(const OpDevice& dev, const modnn_blas& b) {
  return b.type == MODNN_F32 ? runTyped<float>(dev, b) : runTyped<double>(dev, b);
}

}  // namespace modnn::cpu

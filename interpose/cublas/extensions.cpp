// cuBLAS's BLAS-like extensions: cublasGemmEx and its batched forms, geam,
// dgmm.
#include <algorithm>

#include "interpose/cublas/gemm.h"
#include "interpose/cublas/handle.h"
#include "interpose/cublas/recording.h"

namespace moai::cublas {
namespace {

cublasStatus_t gemmEx(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
                      int64_t k, const void* alpha, const void* A, cudaDataType Atype, int64_t lda, const void* B,
                      cudaDataType Btype, int64_t ldb, const void* beta, const void* C, cudaDataType Ctype,
                      int64_t ldc, cublasComputeType_t compute, int64_t batch = 1, int64_t sa = 0, int64_t sb = 0,
                      int64_t sc = 0, bool arrays = false) {
  if (!liveHandle(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  GemmTypes types;
  cublasStatus_t st = gemmTypes(compute, gemmExScaleType(compute, Ctype), Atype, Btype, Ctype, &types);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  return recordGemm(h, types, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch, sa, sb, sc,
                    arrays);
}

template <class I>
cublasStatus_t geam(cublasHandle_t handle, modnn_dtype t, cublasOperation_t transa, cublasOperation_t transb, I m,
                    I n, const void* alpha, const void* A, I lda, const void* beta, const void* B, I ldb, void* C,
                    I ldc) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  if (!validOp(transa) || !validOp(transb) || m < 0 || n < 0 || lda < std::max<I>(1, ta ? n : m) ||
      ldb < std::max<I>(1, tb ? n : m) || ldc < std::max<I>(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  // In place only where every element is read before it is written.
  if ((C == A && (ta || lda != ldc)) || (C == B && (tb || ldb != ldc))) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = blasOp(MODNN_BLAS_GEAM, t);
  modnn_blas& b = op.u.blas;
  b.m = m;
  b.n = n;
  b.trans_a = ta;
  b.trans_b = tb;
  b.a = va(A);
  b.lda = lda;
  b.b = va(B);
  b.ldb = ldb;
  b.c = va(C);
  b.ldc = ldc;
  return recordBlas(*h, op, alpha, beta);
}

template <class I>
cublasStatus_t dgmm(cublasHandle_t handle, modnn_dtype t, cublasSideMode_t mode, I m, I n, const void* A, I lda,
                    const void* x, I incx, void* C, I ldc) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if ((mode != CUBLAS_SIDE_LEFT && mode != CUBLAS_SIDE_RIGHT) || m < 0 || n < 0 || lda < std::max<I>(1, m) ||
      ldc < std::max<I>(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  modnn_op op = blasOp(MODNN_BLAS_DGMM, t);
  modnn_blas& b = op.u.blas;
  b.m = m;
  b.n = n;
  b.right = mode == CUBLAS_SIDE_RIGHT;
  b.a = va(A);
  b.lda = lda;
  b.x = va(x);
  b.incx = incx;
  b.c = va(C);
  b.ldc = ldc;
  return recordBlas(*h, op, nullptr, nullptr);
}

}  // namespace

#define MOAI_GEMM_EX(SUFFIX, I)                                                                                  \
  cublasStatus_t cublasGemmEx##SUFFIX(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, I m, I n,  \
                                      I k, const void* alpha, const void* A, cudaDataType At, I lda,           \
                                      const void* B, cudaDataType Bt, I ldb, const void* beta, void* C,        \
                                      cudaDataType Ct, I ldc, cublasComputeType_t compute, cublasGemmAlgo_t) { \
    return gemmEx(h, ta, tb, m, n, k, alpha, A, At, lda, B, Bt, ldb, beta, C, Ct, ldc, compute);            \
  }                                                                                                            \
  cublasStatus_t cublasGemmBatchedEx##SUFFIX(                                                                  \
      cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, I m, I n, I k, const void* alpha,          \
      const void* const A[], cudaDataType At, I lda, const void* const B[], cudaDataType Bt, I ldb,            \
      const void* beta, void* const C[], cudaDataType Ct, I ldc, I batch, cublasComputeType_t compute,         \
      cublasGemmAlgo_t) {                                                                                      \
    return gemmEx(h, ta, tb, m, n, k, alpha, A, At, lda, B, Bt, ldb, beta, C, Ct, ldc, compute, batch, 0, 0, \
                     0, true);                                                                                 \
  }                                                                                                            \
  cublasStatus_t cublasGemmStridedBatchedEx##SUFFIX(                                                           \
      cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, I m, I n, I k, const void* alpha,          \
      const void* A, cudaDataType At, I lda, long long sa, const void* B, cudaDataType Bt, I ldb, long long sb, \
      const void* beta, void* C, cudaDataType Ct, I ldc, long long sc, I batch, cublasComputeType_t compute,   \
      cublasGemmAlgo_t) {                                                                                      \
    return gemmEx(h, ta, tb, m, n, k, alpha, A, At, lda, B, Bt, ldb, beta, C, Ct, ldc, compute, batch, sa,  \
                     sb, sc);                                                                                  \
  }

MOAI_GEMM_EX(, int)
MOAI_GEMM_EX(_64, int64_t)

#define MOAI_GEAM_DGMM(P, T, SUFFIX, I)                                                                        \
  cublasStatus_t cublas##P##geam##SUFFIX(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, I m,    \
                                         I n, const T* alpha, const T* A, I lda, const T* beta, const T* B,    \
                                         I ldb, T* C, I ldc) {                                                 \
    return geam<I>(h, dtypeOf<T>(), ta, tb, m, n, alpha, A, lda, beta, B, ldb, C, ldc);                        \
  }                                                                                                            \
  cublasStatus_t cublas##P##dgmm##SUFFIX(cublasHandle_t h, cublasSideMode_t mode, I m, I n, const T* A, I lda, \
                                         const T* x, I incx, T* C, I ldc) {                                    \
    return dgmm<I>(h, dtypeOf<T>(), mode, m, n, A, lda, x, incx, C, ldc);                                      \
  }

MOAI_GEAM_DGMM(S, float, , int)
MOAI_GEAM_DGMM(S, float, _64, int64_t)
MOAI_GEAM_DGMM(D, double, , int)
MOAI_GEAM_DGMM(D, double, _64, int64_t)

}  // namespace moai::cublas

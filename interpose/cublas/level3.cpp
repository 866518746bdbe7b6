// BLAS level 3: gemm (S, D, H, C, Z; plain, batched, strided batched), trsm
// and syrk.
#include <algorithm>

#include "interpose/cublas/gemm.h"
#include "interpose/cublas/handle.h"
#include "interpose/cublas/recording.h"

namespace moai::cublas {
namespace {

template <class T>
GemmTypes classicTypes() {
  GemmTypes t;
  t.ab = t.c = t.scale = dtypeOf<T>();
  if constexpr (std::is_same_v<T, __half>) t.compute = MODNN_F16;
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, cuDoubleComplex>) t.compute = MODNN_F64;
  return t;
}

template <class I>
cublasStatus_t trsm(cublasHandle_t handle, modnn_dtype t, cublasSideMode_t side, cublasFillMode_t uplo,
                    cublasOperation_t trans, cublasDiagType_t diag, I m, I n, const void* alpha, const void* A,
                    I lda, void* B, I ldb) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  bool right = side == CUBLAS_SIDE_RIGHT;
  if ((side != CUBLAS_SIDE_LEFT && !right) || (uplo != CUBLAS_FILL_MODE_LOWER && uplo != CUBLAS_FILL_MODE_UPPER) ||
      !validOp(trans) || (diag != CUBLAS_DIAG_NON_UNIT && diag != CUBLAS_DIAG_UNIT) || m < 0 || n < 0 ||
      lda < std::max<I>(1, right ? n : m) || ldb < std::max<I>(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!alpha) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = blasOp(MODNN_BLAS_TRSM, t);
  modnn_blas& b = op.u.blas;
  b.m = m;
  b.n = n;
  b.right = right;
  b.upper = uplo == CUBLAS_FILL_MODE_UPPER;
  b.trans_a = trans != CUBLAS_OP_N;
  b.unit_diag = diag == CUBLAS_DIAG_UNIT;
  b.a = va(A);
  b.lda = lda;
  b.b = va(B);
  b.ldb = ldb;
  return recordBlas(*h, op, alpha, nullptr);
}

template <class I>
cublasStatus_t syrk(cublasHandle_t handle, modnn_dtype t, cublasFillMode_t uplo, cublasOperation_t trans, I n, I k,
                    const void* alpha, const void* A, I lda, const void* beta, void* C, I ldc) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  bool ta = trans != CUBLAS_OP_N;
  if ((uplo != CUBLAS_FILL_MODE_LOWER && uplo != CUBLAS_FILL_MODE_UPPER) || !validOp(trans) || n < 0 || k < 0 ||
      lda < std::max<I>(1, ta ? k : n) || ldc < std::max<I>(1, n))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = blasOp(MODNN_BLAS_SYRK, t);
  modnn_blas& b = op.u.blas;
  b.n = n;
  b.k = k;
  b.upper = uplo == CUBLAS_FILL_MODE_UPPER;
  b.trans_a = ta;
  b.a = va(A);
  b.lda = lda;
  b.c = va(C);
  b.ldc = ldc;
  return recordBlas(*h, op, alpha, beta);
}

}  // namespace

// V2: "_v2" where the plain GEMM has one; SUFFIX/I: the 32- or 64-bit API.
#define MOAI_GEMM(P, T, V2, SUFFIX, I)                                                                          \
  cublasStatus_t cublas##P##gemm##V2##SUFFIX(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, I m, \
                                             I n, I k, const T* alpha, const T* A, I lda, const T* B, I ldb,    \
                                             const T* beta, T* C, I ldc) {                                      \
    return recordGemm(h, classicTypes<T>(), ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);             \
  }                                                                                                             \
  cublasStatus_t cublas##P##gemmBatched##SUFFIX(                                                                \
      cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, I m, I n, I k, const T* alpha,              \
      const T* const A[], I lda, const T* const B[], I ldb, const T* beta, T* const C[], I ldc, I batch) {      \
    return recordGemm(h, classicTypes<T>(), ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch, 0, 0,  \
                      0, true);                                                                                 \
  }                                                                                                             \
  cublasStatus_t cublas##P##gemmStridedBatched##SUFFIX(                                                         \
      cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, I m, I n, I k, const T* alpha, const T* A,  \
      I lda, long long sa, const T* B, I ldb, long long sb, const T* beta, T* C, I ldc, long long sc,           \
      I batch) {                                                                                                \
    return recordGemm(h, classicTypes<T>(), ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, batch, sa, sb, \
                      sc);                                                                                      \
  }

MOAI_GEMM(S, float, _v2, , int)
MOAI_GEMM(S, float, _v2, _64, int64_t)
MOAI_GEMM(D, double, _v2, , int)
MOAI_GEMM(D, double, _v2, _64, int64_t)
MOAI_GEMM(H, __half, , , int)
MOAI_GEMM(H, __half, , _64, int64_t)
MOAI_GEMM(C, cuComplex, _v2, , int)
MOAI_GEMM(C, cuComplex, _v2, _64, int64_t)
MOAI_GEMM(Z, cuDoubleComplex, _v2, , int)
MOAI_GEMM(Z, cuDoubleComplex, _v2, _64, int64_t)

#define MOAI_TRSM_SYRK(P, T, SUFFIX, I)                                                                       \
  cublasStatus_t cublas##P##trsm##SUFFIX(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo,      \
                                         cublasOperation_t trans, cublasDiagType_t diag, I m, I n,           \
                                         const T* alpha, const T* A, I lda, T* B, I ldb) {                   \
    return trsm<I>(h, dtypeOf<T>(), side, uplo, trans, diag, m, n, alpha, A, lda, B, ldb);                    \
  }                                                                                                           \
  cublasStatus_t cublas##P##syrk##SUFFIX(cublasHandle_t h, cublasFillMode_t uplo, cublasOperation_t trans,    \
                                         I n, I k, const T* alpha, const T* A, I lda, const T* beta, T* C,    \
                                         I ldc) {                                                             \
    return syrk<I>(h, dtypeOf<T>(), uplo, trans, n, k, alpha, A, lda, beta, C, ldc);                          \
  }

MOAI_TRSM_SYRK(S, float, _v2, int)
MOAI_TRSM_SYRK(S, float, _v2_64, int64_t)
MOAI_TRSM_SYRK(D, double, _v2, int)
MOAI_TRSM_SYRK(D, double, _v2_64, int64_t)

}  // namespace moai::cublas

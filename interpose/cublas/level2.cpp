// BLAS level 2: gemv and ger.
#include <algorithm>

#include "interpose/cublas/handle.h"
#include "interpose/cublas/recording.h"

namespace moai::cublas {
namespace {

template <class I>
cublasStatus_t gemv(cublasHandle_t handle, modnn_dtype t, cublasOperation_t trans, I m, I n, const void* alpha,
                    const void* A, I lda, const void* x, I incx, const void* beta, void* y, I incy) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!validOp(trans) || m < 0 || n < 0 || lda < std::max<I>(1, m) || incx == 0 || incy == 0)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = blasOp(MODNN_BLAS_GEMV, t);
  modnn_blas& b = op.u.blas;
  b.m = m;
  b.n = n;
  b.trans_a = trans != CUBLAS_OP_N;
  b.a = va(A);
  b.lda = lda;
  b.x = va(x);
  b.incx = incx;
  b.y = va(y);
  b.incy = incy;
  return recordBlas(*h, op, alpha, beta);
}

template <class I>
cublasStatus_t ger(cublasHandle_t handle, modnn_dtype t, I m, I n, const void* alpha, const void* x, I incx,
                   const void* y, I incy, void* A, I lda) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || incx == 0 || incy == 0 || lda < std::max<I>(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!alpha) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = blasOp(MODNN_BLAS_GER, t);
  modnn_blas& b = op.u.blas;
  b.m = m;
  b.n = n;
  b.x = va(x);
  b.incx = incx;
  b.y = va(y);
  b.incy = incy;
  b.a = va(A);
  b.lda = lda;
  return recordBlas(*h, op, alpha, nullptr);
}

}  // namespace

#define MOAI_LEVEL2(P, T, SUFFIX, I)                                                                           \
  cublasStatus_t cublas##P##gemv##SUFFIX(cublasHandle_t h, cublasOperation_t trans, I m, I n, const T* alpha, \
                                         const T* A, I lda, const T* x, I incx, const T* beta, T* y, I incy) { \
    return gemv<I>(h, dtypeOf<T>(), trans, m, n, alpha, A, lda, x, incx, beta, y, incy);                       \
  }                                                                                                            \
  cublasStatus_t cublas##P##ger##SUFFIX(cublasHandle_t h, I m, I n, const T* alpha, const T* x, I incx,        \
                                        const T* y, I incy, T* A, I lda) {                                     \
    return ger<I>(h, dtypeOf<T>(), m, n, alpha, x, incx, y, incy, A, lda);                                     \
  }

MOAI_LEVEL2(S, float, _v2, int)
MOAI_LEVEL2(S, float, _v2_64, int64_t)
MOAI_LEVEL2(D, double, _v2, int)
MOAI_LEVEL2(D, double, _v2_64, int64_t)

}  // namespace moai::cublas

// BLAS level 1: axpy, scal, dot, nrm2, asum, iamax, iamin, copy, swap.
// Reductions in host pointer mode run synchronously into the handle's result
// slot and copy the value back; in device pointer mode they are recorded.
#include "interpose/core/client.h"
#include "interpose/cublas/handle.h"
#include "interpose/cublas/recording.h"

namespace moai::cublas {
namespace {

template <class I>
cublasStatus_t vectorOp(cublasHandle_t handle, modnn_blas_fn fn, modnn_dtype t, I n, const void* alpha,
                        const void* x, I incx, const void* y, I incy) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (n <= 0 || (fn == MODNN_BLAS_SCAL && incx <= 0)) return CUBLAS_STATUS_SUCCESS;  // BLAS quick return
  modnn_op op = blasOp(fn, t);
  modnn_blas& b = op.u.blas;
  b.n = n;
  b.x = va(x);
  b.incx = incx;
  b.y = va(y);
  b.incy = incy;
  if ((fn == MODNN_BLAS_AXPY || fn == MODNN_BLAS_SCAL) && !alpha) return CUBLAS_STATUS_INVALID_VALUE;
  return recordBlas(*h, op, alpha, nullptr);
}

// n <= 0 still runs: the result is then 0, written where the program reads it.
template <class I>
cublasStatus_t reduction(cublasHandle_t handle, modnn_blas_fn fn, modnn_dtype t, I n, const void* x, I incx,
                         const void* y, I incy, void* result, modnn_dtype result_type) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!result) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = blasOp(fn, t);
  modnn_blas& b = op.u.blas;
  b.n = n < 0 ? 0 : n;
  b.x = va(x);
  b.incx = incx;
  b.y = va(y);
  b.incy = incy;
  b.result_type = result_type;
  if (h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE) {
    b.result = va(result);
    return record(op, h->stream);
  }
  Client& client = Client::get();
  if (!h->result_slot && client.malloc(kResultSlotBytes, &h->result_slot) != MODNN_OK)
    return CUBLAS_STATUS_ALLOC_FAILED;
  b.result = va(h->result_slot);
  if (cublasStatus_t st = runSync(op, h->stream); st != CUBLAS_STATUS_SUCCESS) return st;
  CopyRequest copy;
  copy.dst = result;
  copy.src = h->result_slot;
  copy.width = modnn_dtype_size(result_type);
  copy.kind = CopyKind::DeviceToHost;
  return toCublas(client.copy(copy, reinterpret_cast<Stream*>(h->stream), false));
}

}  // namespace

// P/p: the type letter as the names spell it; SUFFIX/I: the 32- or 64-bit API.
#define MOAI_LEVEL1(P, p, T, SUFFIX, I)                                                                          \
  cublasStatus_t cublas##P##axpy##SUFFIX(cublasHandle_t h, I n, const T* alpha, const T* x, I incx, T* y,       \
                                         I incy) {                                                              \
    return vectorOp<I>(h, MODNN_BLAS_AXPY, dtypeOf<T>(), n, alpha, x, incx, y, incy);                           \
  }                                                                                                             \
  cublasStatus_t cublas##P##scal##SUFFIX(cublasHandle_t h, I n, const T* alpha, T* x, I incx) {                 \
    return vectorOp<I>(h, MODNN_BLAS_SCAL, dtypeOf<T>(), n, alpha, x, incx, nullptr, 0);                        \
  }                                                                                                             \
  cublasStatus_t cublas##P##copy##SUFFIX(cublasHandle_t h, I n, const T* x, I incx, T* y, I incy) {             \
    return vectorOp<I>(h, MODNN_BLAS_COPY, dtypeOf<T>(), n, nullptr, x, incx, y, incy);                         \
  }                                                                                                             \
  cublasStatus_t cublas##P##swap##SUFFIX(cublasHandle_t h, I n, T* x, I incx, T* y, I incy) {                   \
    return vectorOp<I>(h, MODNN_BLAS_SWAP, dtypeOf<T>(), n, nullptr, x, incx, y, incy);                         \
  }                                                                                                             \
  cublasStatus_t cublas##P##dot##SUFFIX(cublasHandle_t h, I n, const T* x, I incx, const T* y, I incy,          \
                                        T* result) {                                                            \
    return reduction<I>(h, MODNN_BLAS_DOT, dtypeOf<T>(), n, x, incx, y, incy, result, dtypeOf<T>());            \
  }                                                                                                             \
  cublasStatus_t cublas##P##nrm2##SUFFIX(cublasHandle_t h, I n, const T* x, I incx, T* result) {                \
    return reduction<I>(h, MODNN_BLAS_NRM2, dtypeOf<T>(), n, x, incx, nullptr, 0, result, dtypeOf<T>());        \
  }                                                                                                             \
  cublasStatus_t cublas##P##asum##SUFFIX(cublasHandle_t h, I n, const T* x, I incx, T* result) {                \
    return reduction<I>(h, MODNN_BLAS_ASUM, dtypeOf<T>(), n, x, incx, nullptr, 0, result, dtypeOf<T>());        \
  }                                                                                                             \
  cublasStatus_t cublasI##p##amax##SUFFIX(cublasHandle_t h, I n, const T* x, I incx, I* result) {               \
    return reduction<I>(h, MODNN_BLAS_IAMAX, dtypeOf<T>(), n, x, incx, nullptr, 0, result, dtypeOf<I>());       \
  }                                                                                                             \
  cublasStatus_t cublasI##p##amin##SUFFIX(cublasHandle_t h, I n, const T* x, I incx, I* result) {               \
    return reduction<I>(h, MODNN_BLAS_IAMIN, dtypeOf<T>(), n, x, incx, nullptr, 0, result, dtypeOf<I>());       \
  }

MOAI_LEVEL1(S, s, float, _v2, int)
MOAI_LEVEL1(S, s, float, _v2_64, int64_t)
MOAI_LEVEL1(D, d, double, _v2, int)
MOAI_LEVEL1(D, d, double, _v2_64, int64_t)

}  // namespace moai::cublas

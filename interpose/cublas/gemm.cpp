// GEMM type rules and the checks and recording of classic-API GEMMs.
#include "interpose/cublas/gemm.h"

#include <algorithm>

#include "interpose/cublas/handle.h"
#include "interpose/cublas/recording.h"

namespace moai::cublas {
namespace {

struct Combo {
  cudaDataType scale, ab, c;
};

// cuBLAS's table of supported (scale, A/B, C) types per compute type.
constexpr Combo k16F[] = {{CUDA_R_16F, CUDA_R_16F, CUDA_R_16F}};
constexpr Combo k32F[] = {{CUDA_R_32F, CUDA_R_16BF, CUDA_R_16BF}, {CUDA_R_32F, CUDA_R_16F, CUDA_R_16F},
                          {CUDA_R_32F, CUDA_R_8I, CUDA_R_32F},    {CUDA_R_32F, CUDA_R_16BF, CUDA_R_32F},
                          {CUDA_R_32F, CUDA_R_16F, CUDA_R_32F},   {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F},
                          {CUDA_C_32F, CUDA_C_8I, CUDA_C_32F},    {CUDA_C_32F, CUDA_C_32F, CUDA_C_32F}};
constexpr Combo k32FFast[] = {{CUDA_R_32F, CUDA_R_32F, CUDA_R_32F}, {CUDA_C_32F, CUDA_C_32F, CUDA_C_32F}};
constexpr Combo k64F[] = {{CUDA_R_64F, CUDA_R_64F, CUDA_R_64F}, {CUDA_C_64F, CUDA_C_64F, CUDA_C_64F}};
constexpr Combo k32I[] = {{CUDA_R_32I, CUDA_R_8I, CUDA_R_32I}, {CUDA_R_32F, CUDA_R_8I, CUDA_R_32I}};

template <size_t N>
bool listed(const Combo (&table)[N], cudaDataType scale, cudaDataType ab, cudaDataType c) {
  return std::any_of(table, table + N,
                     [&](const Combo& x) { return x.scale == scale && x.ab == ab && x.c == c; });
}

}  // namespace

cudaDataType gemmExScaleType(cublasComputeType_t compute, cudaDataType c) {
  bool complex = c == CUDA_C_32F || c == CUDA_C_64F;
  switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC: return CUDA_R_16F;
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT: return complex ? CUDA_C_64F : CUDA_R_64F;
    case CUBLAS_COMPUTE_32I:
    case CUBLAS_COMPUTE_32I_PEDANTIC: return CUDA_R_32I;
    default: return complex ? CUDA_C_32F : CUDA_R_32F;
  }
}

cublasStatus_t gemmTypes(cublasComputeType_t compute, cudaDataType scale, cudaDataType a, cudaDataType b,
                         cudaDataType c, GemmTypes* out) {
  bool ok = false;
  GemmTypes t;
  switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
      ok = listed(k16F, scale, a, c);
      t.compute = MODNN_F16;
      break;
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC: ok = listed(k32F, scale, a, c); break;
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      ok = listed(k32FFast, scale, a, c);
      t.tf32 = true;
      break;
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
      ok = listed(k64F, scale, a, c);
      t.compute = MODNN_F64;
      break;
    case CUBLAS_COMPUTE_32I:
    case CUBLAS_COMPUTE_32I_PEDANTIC:
      ok = listed(k32I, scale, a, c);
      t.compute = MODNN_I32;
      break;
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT: return CUBLAS_STATUS_NOT_SUPPORTED;
    default: return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (!ok || a != b || !toDtype(a, &t.ab) || !toDtype(c, &t.c) || !toDtype(scale, &t.scale))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  *out = t;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t recordGemm(cublasHandle_t handle, const GemmTypes& types, cublasOperation_t transa,
                          cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const void* alpha,
                          const void* a, int64_t lda, const void* b, int64_t ldb, const void* beta, const void* c,
                          int64_t ldc, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c,
                          bool pointer_arrays) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  if (!validOp(transa) || !validOp(transb) || m < 0 || n < 0 || k < 0 || batch < 0 ||
      lda < std::max<int64_t>(1, ta ? k : m) || ldb < std::max<int64_t>(1, tb ? n : k) ||
      ldc < std::max<int64_t>(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = gemmOp();
  modnn_gemm& g = op.u.gemm;
  bool complex = types.ab == MODNN_C32 || types.ab == MODNN_C64;
  g.trans_a = ta;
  g.trans_b = tb;
  g.conj_a = complex && transa == CUBLAS_OP_C;
  g.conj_b = complex && transb == CUBLAS_OP_C;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = va(a);
  g.b = va(b);
  g.c = g.d = va(c);
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = g.ldd = ldc;
  g.batch = batch;
  g.stride_a = stride_a;
  g.stride_b = stride_b;
  g.stride_c = g.stride_d = stride_c;
  g.pointer_arrays = pointer_arrays;
  g.a_type = g.b_type = types.ab;
  g.c_type = g.d_type = types.c;
  g.compute_type = types.compute;
  g.scale_type = types.scale;
  g.allow_tf32 = types.tf32 || (h->math_mode & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH;
  bool device = h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
  readScalar(device, alpha, g.scale_type, g.alpha, &g.alpha_ptr);
  readScalar(device, beta, g.scale_type, g.beta, &g.beta_ptr);
  return record(op, h->stream);
}

}  // namespace moai::cublas

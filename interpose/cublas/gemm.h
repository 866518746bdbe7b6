// The GEMM that cublas<t>gemm*, cublasGemm*Ex and cublasLtMatmul become:
// their type rules and the checks and recording the classic API shares.
#pragma once
#include <cstdint>

#include "interpose/cublas/api.h"
#include "modnn/ops.h"

namespace moai::cublas {

struct GemmTypes {
  modnn_dtype ab = MODNN_F32, c = MODNN_F32, scale = MODNN_F32, compute = MODNN_F32;
  bool tf32 = false;  // compute may round f32 inputs to tf32
};

// The type combinations cuBLAS documents for cublasGemmEx and
// cublasLtMatmul: NOT_SUPPORTED for any other, INVALID_VALUE for a compute
// type that does not exist.
cublasStatus_t gemmTypes(cublasComputeType_t compute, cudaDataType scale, cudaDataType a, cudaDataType b,
                         cudaDataType c, GemmTypes* out);
// The scale (alpha, beta) type cublasGemmEx implies.
cudaDataType gemmExScaleType(cublasComputeType_t compute, cudaDataType c);

// Checks a classic-API GEMM (column-major, C is also the output) as cuBLAS
// does and records it on the handle's stream. Strides are in elements; with
// pointer_arrays, a, b and c are device arrays of `batch` pointers.
cublasStatus_t recordGemm(cublasHandle_t handle, const GemmTypes& types, cublasOperation_t transa,
                          cublasOperation_t transb, int64_t m, int64_t n, int64_t k, const void* alpha,
                          const void* a, int64_t lda, const void* b, int64_t ldb, const void* beta, const void* c,
                          int64_t ldc, int64_t batch = 1, int64_t stride_a = 0, int64_t stride_b = 0,
                          int64_t stride_c = 0, bool pointer_arrays = false);

}  // namespace moai::cublas

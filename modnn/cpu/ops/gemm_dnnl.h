// Half-precision GEMMs through oneDNN's matmul, which on CPUs with bf16 dot
// products (AVX512-BF16, AMX) runs several times faster than converting to
// f32 for OpenBLAS.
#pragma once
#include <cstdint>

#include "modnn/ops.h"

namespace modnn::cpu {

// out[i] = alpha op(A[i]) op(B[i]) + beta out[i] for `batch` entries
// `stride_*` elements apart; column-major, as moDNN's GEMM.
struct HostGemm {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  void* out = nullptr;
  int64_t ldo = 0, stride_out = 0;
  int64_t batch = 1;
  modnn_dtype in_type = MODNN_BF16;  // of A and B
  modnn_dtype out_type = MODNN_F32;
  float alpha = 1, beta = 0;
};

// Runs `g` on `threads` threads; false when oneDNN has no implementation of
// it on this CPU (the caller then takes another path).
bool dnnlGemm(const HostGemm& g, int threads);

}  // namespace modnn::cpu

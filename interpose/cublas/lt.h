// cuBLASLt descriptors. Programs may place them in their own storage
// (cublasLt*Init), so each lives inside NVIDIA's semi-opaque struct of the
// same role; a magic number tells an initialised one from garbage.
#pragma once
#include <cstdint>

#include "interpose/cublas/api.h"

namespace moai::cublas {

// The attributes of cublasLtMatmulDescAttributes_t, each with the C type
// the header documents for it.
struct LtMatmulDesc {
  uint32_t magic;
  int32_t compute_type;  // cublasComputeType_t
  int32_t scale_type;    // cudaDataType
  int32_t pointer_mode;  // cublasLtPointerMode_t
  int32_t transa, transb, transc;
  int32_t fill_mode;
  uint32_t epilogue;  // cublasLtEpilogue_t
  int32_t sm_count_target;
  int32_t aux_data_type;   // -1: the type of D
  int32_t bias_data_type;  // -1: the type of D
  int32_t a_scale_mode, b_scale_mode, c_scale_mode, d_scale_mode, aux_scale_mode, d_out_scale_mode;
  int8_t fast_accum;
  const void* bias;
  int64_t bias_batch_stride;
  void* aux;
  int64_t aux_ld, aux_batch_stride;
  int64_t alpha_vector_batch_stride;
  const void *a_scale, *b_scale, *c_scale, *d_scale, *aux_scale;
  void *amax_d, *aux_amax, *d_out_scale;
  cublasLtEmulationDesc_t emulation;
};

// The attributes of cublasLtMatrixLayoutAttribute_t.
struct LtLayout {
  uint32_t magic;
  uint32_t type;  // cudaDataType
  int32_t order;  // cublasLtOrder_t
  int32_t batch_count;
  uint64_t rows, cols;
  int64_t ld;
  int64_t batch_offset;  // elements between batch entries
  int64_t plane_offset;
  uint32_t batch_mode;  // cublasLtBatchMode_t
};

// The attributes of cublasLtMatmulPreferenceAttributes_t.
struct LtPreference {
  uint32_t magic;
  uint32_t search_mode;
  uint64_t max_workspace_bytes;
  uint32_t reduction_scheme_mask;
  uint32_t min_alignment[4];  // A, B, C, D
  float max_waves_count;
  uint64_t impl_mask;
};

// The descriptor behind a handle, or null when it was never initialised.
const LtMatmulDesc* matmulDesc(cublasLtMatmulDesc_t d);
const LtLayout* layout(cublasLtMatrixLayout_t l);

}  // namespace moai::cublas

// The state behind a cublasHandle_t (and a cublasLtHandle_t), and the
// lookup that tells a live handle from a null or destroyed one.
#pragma once
#include <cstddef>

#include "interpose/cublas/api.h"

struct cublasContext {
  cudaStream_t stream = nullptr;  // 0: the legacy default stream, as in cuBLAS
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasMath_t math_mode = CUBLAS_DEFAULT_MATH;
  cublasAtomicsMode_t atomics_mode = CUBLAS_ATOMICS_NOT_ALLOWED;
  int sm_count_target = 0;
  void* workspace = nullptr;  // the program's; ops on a CPU need none
  size_t workspace_bytes = 0;
  // Device memory for results of host-pointer-mode reductions (dot, nrm2,
  // ...), allocated on first use: the op writes there, the host copies back.
  void* result_slot = nullptr;
};

struct cublasLtContext {};

namespace moai::cublas {

// Bytes of the result slot: the largest result (complex double).
constexpr size_t kResultSlotBytes = 16;

// The context of a live handle, or null.
cublasContext* liveHandle(cublasHandle_t handle);
cublasLtContext* liveHandle(cublasLtHandle_t handle);

}  // namespace moai::cublas

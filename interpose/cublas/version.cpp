// Version and property queries: MoAI answers as the cuBLAS whose headers it
// was built from (cuBLASLt ships with it and shares its version).
#include <cuda_runtime_api.h>

#include "interpose/cublas/api.h"
#include "interpose/cublas/handle.h"

namespace moai::cublas {
namespace {

cublasStatus_t property(libraryPropertyType type, int* value) {
  if (!value) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {
    case MAJOR_VERSION: *value = CUBLAS_VER_MAJOR; return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUBLAS_VER_MINOR; return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUBLAS_VER_PATCH; return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

}  // namespace

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version) {
  if (!liveHandle(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  return cublas::cublasGetVersion(version);
}

cublasStatus_t cublasGetVersion(int* version) {
  if (!version) return CUBLAS_STATUS_INVALID_VALUE;
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) { return property(type, value); }

size_t cublasGetCudartVersion() { return CUDART_VERSION; }

size_t cublasLtGetVersion() { return CUBLAS_VERSION; }

size_t cublasLtGetCudartVersion() { return CUDART_VERSION; }

cublasStatus_t cublasLtGetProperty(libraryPropertyType type, int* value) { return property(type, value); }

}  // namespace moai::cublas

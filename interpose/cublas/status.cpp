// Status codes: modnn_status -> cublasStatus_t, and the status names and
// strings of both libraries.
#include "interpose/cublas/api.h"

namespace moai::cublas {

cublasStatus_t toCublas(modnn_status st) {
  switch (st) {
    case MODNN_OK: return CUBLAS_STATUS_SUCCESS;
    case MODNN_ERR_INVALID_VALUE:
    case MODNN_ERR_INVALID_DEVICE_POINTER:
    case MODNN_ERR_INVALID_HANDLE: return CUBLAS_STATUS_INVALID_VALUE;
    case MODNN_ERR_OUT_OF_MEMORY: return CUBLAS_STATUS_ALLOC_FAILED;
    case MODNN_ERR_NOT_SUPPORTED: return CUBLAS_STATUS_NOT_SUPPORTED;
    case MODNN_ERR_NOT_INITIALIZED:
    case MODNN_ERR_DEVICE_UNAVAILABLE: return CUBLAS_STATUS_NOT_INITIALIZED;
    case MODNN_ERR_ILLEGAL_ADDRESS:
    case MODNN_ERR_LAUNCH_FAILURE:
    case MODNN_ERR_ASSERT: return CUBLAS_STATUS_EXECUTION_FAILED;
    default: break;
  }
  return CUBLAS_STATUS_INTERNAL_ERROR;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
#define MOAI_CUBLAS_STATUS(name, value, doc) \
  case name: return #name;
#include "cublas_statuses.inc"
#undef MOAI_CUBLAS_STATUS
  }
  return "unrecognized status";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  // As NVIDIA's libraries word them.
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an unsupported value or parameter was passed to the function";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the function requires an architectural feature absent from the device";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the function failed to launch on the GPU";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the requested functionality is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "the license check failed";
  }
  return "unknown error";
}

const char* cublasLtGetStatusName(cublasStatus_t status) { return cublas::cublasGetStatusName(status); }

const char* cublasLtGetStatusString(cublasStatus_t status) { return cublas::cublasGetStatusString(status); }

}  // namespace moai::cublas

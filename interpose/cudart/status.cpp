// Error codes: modnn_status -> cudaError_t, the per-thread last error, and
// the error-reporting functions of the runtime API.
#include <cstring>

#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

thread_local cudaError_t t_last_error = cudaSuccess;

struct ErrorText {
  cudaError_t code;
  const char* name;
  const char* doc;
};

#define MOAI_CUDA_ERROR(name, value, doc) {cudaError_t(value), #name, doc},
const ErrorText kErrors[] = {
#include "cudart_errors.inc"
};
#undef MOAI_CUDA_ERROR

const ErrorText* findError(cudaError_t e) {
  for (const auto& t : kErrors)
    if (t.code == e) return &t;
  return nullptr;
}

}  // namespace

cudaError_t toCuda(modnn_status st) {
  switch (st) {
    case MODNN_OK: return cudaSuccess;
    case MODNN_ERR_INVALID_VALUE: return cudaErrorInvalidValue;
    case MODNN_ERR_OUT_OF_MEMORY: return cudaErrorMemoryAllocation;
    case MODNN_ERR_NOT_SUPPORTED: return cudaErrorNotSupported;
    case MODNN_ERR_NOT_READY: return cudaErrorNotReady;
    case MODNN_ERR_INVALID_DEVICE_POINTER: return cudaErrorInvalidDevicePointer;
    case MODNN_ERR_INVALID_HANDLE: return cudaErrorInvalidResourceHandle;
    case MODNN_ERR_INVALID_DEVICE: return cudaErrorInvalidDevice;
    case MODNN_ERR_INVALID_DIRECTION: return cudaErrorInvalidMemcpyDirection;
    case MODNN_ERR_INVALID_SYMBOL: return cudaErrorInvalidSymbol;
    case MODNN_ERR_INVALID_FUNCTION: return cudaErrorInvalidDeviceFunction;
    case MODNN_ERR_INVALID_CONFIGURATION: return cudaErrorInvalidConfiguration;
    case MODNN_ERR_NO_KERNEL_IMAGE: return cudaErrorNoKernelImageForDevice;
    case MODNN_ERR_INVALID_IMAGE: return cudaErrorInvalidKernelImage;
    case MODNN_ERR_INVALID_PTX: return cudaErrorInvalidPtx;
    case MODNN_ERR_UNSUPPORTED_PTX_VERSION: return cudaErrorUnsupportedPtxVersion;
    case MODNN_ERR_ILLEGAL_ADDRESS: return cudaErrorIllegalAddress;
    case MODNN_ERR_LAUNCH_FAILURE: return cudaErrorLaunchFailure;
    case MODNN_ERR_ASSERT: return cudaErrorAssert;
    case MODNN_ERR_NOT_PERMITTED: return cudaErrorNotPermitted;
    case MODNN_ERR_NOT_INITIALIZED: return cudaErrorInitializationError;
    case MODNN_ERR_DEVICE_UNAVAILABLE: return cudaErrorDevicesUnavailable;
    case MODNN_ERR_ALREADY_REGISTERED: return cudaErrorHostMemoryAlreadyRegistered;
    case MODNN_ERR_NOT_REGISTERED: return cudaErrorHostMemoryNotRegistered;
    case MODNN_ERR_UNKNOWN: break;
  }
  return cudaErrorUnknown;
}

cudaError_t setLastError(cudaError_t err) {
  if (err != cudaSuccess) t_last_error = err;
  return err;
}

cudaError_t done(modnn_status st) { return setLastError(toCuda(st)); }

cudaError_t cudaGetLastError() {
  cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  // A sticky error outlives any read of it until the device is reset.
  if (e == cudaSuccess) e = toCuda(Client::get().stickyError());
  return e;
}

cudaError_t cudaPeekAtLastError() {
  cudaError_t e = t_last_error;
  return e != cudaSuccess ? e : toCuda(Client::get().stickyError());
}

const char* cudaGetErrorName(cudaError_t error) {
  const ErrorText* t = findError(error);
  return t ? t->name : "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  // The short messages programs print, as NVIDIA's runtime words them; every
  // other code gets the first sentence of its documentation.
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidSymbol: return "invalid device symbol";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorAssert: return "device-side assert triggered";
    case cudaErrorNoKernelImageForDevice: return "no kernel image is available for execution on the device";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorNotPermitted: return "operation not permitted";
    default: break;
  }
  const ErrorText* t = findError(error);
  return t ? t->doc : "unrecognized error code";
}

}  // namespace moai::cudart

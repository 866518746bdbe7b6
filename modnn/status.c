#include "modnn/status.h"

const char* modnn_status_string(modnn_status s) {
  switch (s) {
    case MODNN_OK: return "no error";
    case MODNN_ERR_INVALID_VALUE: return "invalid argument";
    case MODNN_ERR_OUT_OF_MEMORY: return "out of memory";
    case MODNN_ERR_NOT_SUPPORTED: return "operation not supported";
    case MODNN_ERR_NOT_READY: return "not ready";
    case MODNN_ERR_INVALID_DEVICE_POINTER: return "invalid device pointer";
    case MODNN_ERR_INVALID_HANDLE: return "invalid resource handle";
    case MODNN_ERR_INVALID_DEVICE: return "invalid device ordinal";
    case MODNN_ERR_INVALID_DIRECTION: return "invalid copy direction";
    case MODNN_ERR_INVALID_SYMBOL: return "invalid device symbol";
    case MODNN_ERR_INVALID_FUNCTION: return "invalid device function";
    case MODNN_ERR_INVALID_CONFIGURATION: return "invalid configuration argument";
    case MODNN_ERR_NO_KERNEL_IMAGE: return "no kernel image is available for execution on the device";
    case MODNN_ERR_INVALID_IMAGE: return "device kernel image is invalid";
    case MODNN_ERR_INVALID_PTX: return "a PTX JIT compilation failed";
    case MODNN_ERR_UNSUPPORTED_PTX_VERSION: return "the provided PTX was compiled with an unsupported toolchain";
    case MODNN_ERR_ILLEGAL_ADDRESS: return "an illegal memory access was encountered";
    case MODNN_ERR_LAUNCH_FAILURE: return "unspecified launch failure";
    case MODNN_ERR_ASSERT: return "device-side assert triggered";
    case MODNN_ERR_NOT_PERMITTED: return "operation not permitted";
    case MODNN_ERR_NOT_INITIALIZED: return "initialization error";
    case MODNN_ERR_DEVICE_UNAVAILABLE: return "device unavailable";
    case MODNN_ERR_ALREADY_REGISTERED: return "part or all of the requested memory range is already mapped";
    case MODNN_ERR_NOT_REGISTERED: return "pointer does not correspond to a registered memory region";
    case MODNN_ERR_UNKNOWN: break;
  }
  return "unknown error";
}

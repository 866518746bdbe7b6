/* modnn_status: the hardware-neutral result code of every moDNN and client
 * runtime call. Vendor codes (cudaError_t, CUresult, cublasStatus_t) are
 * converted to and from it only at the exported boundaries. */
#ifndef MODNN_STATUS_H
#define MODNN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum modnn_status {
  MODNN_OK = 0,
  MODNN_ERR_INVALID_VALUE,        /* an argument is out of range */
  MODNN_ERR_OUT_OF_MEMORY,        /* the device (or its quota) cannot hold it */
  MODNN_ERR_NOT_SUPPORTED,        /* the backend cannot do this operation */
  MODNN_ERR_NOT_READY,            /* asynchronous work has not finished */
  MODNN_ERR_INVALID_DEVICE_POINTER, /* not a pointer into a live allocation */
  MODNN_ERR_INVALID_HANDLE,       /* stream, event, module or handle unknown */
  MODNN_ERR_INVALID_DEVICE,       /* device ordinal out of range */
  MODNN_ERR_INVALID_DIRECTION,    /* copy kind does not match the pointers */
  MODNN_ERR_INVALID_SYMBOL,       /* symbol not registered */
  MODNN_ERR_INVALID_FUNCTION,     /* host function is not a registered kernel */
  MODNN_ERR_INVALID_CONFIGURATION, /* launch geometry or shared memory invalid */
  MODNN_ERR_NO_KERNEL_IMAGE,      /* no image of the kernel this device can run */
  MODNN_ERR_INVALID_IMAGE,        /* module image (fatbin, ELF) malformed */
  MODNN_ERR_INVALID_PTX,          /* PTX could not be parsed or uses unknown instructions */
  MODNN_ERR_UNSUPPORTED_PTX_VERSION, /* PTX ISA version newer than the engine knows */
  MODNN_ERR_ILLEGAL_ADDRESS,      /* a kernel touched memory it does not own (sticky) */
  MODNN_ERR_LAUNCH_FAILURE,       /* a kernel trapped (sticky) */
  MODNN_ERR_ASSERT,               /* device-side assert failed (sticky) */
  MODNN_ERR_NOT_PERMITTED,        /* operation not allowed in this context */
  MODNN_ERR_NOT_INITIALIZED,      /* backend or runtime not initialised */
  MODNN_ERR_DEVICE_UNAVAILABLE,   /* the device or its worker is gone */
  MODNN_ERR_ALREADY_REGISTERED,   /* host range already registered */
  MODNN_ERR_NOT_REGISTERED,       /* host range was never registered */
  MODNN_ERR_UNKNOWN
} modnn_status;

/* Short lower-case description, for logs. Never NULL. */
const char* modnn_status_string(modnn_status s);

#ifdef __cplusplus
}
#endif

#endif

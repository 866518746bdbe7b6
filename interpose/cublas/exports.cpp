// The exported libcublas and libcublasLt symbols, generated from their lists:
// each forwards to moai::cublas and is bound to both of its library's
// version nodes (libcublas.so.12/.13, libcublasLt.so.12/.13).
#include "interpose/common/export_macros.h"
#include "interpose/cublas/api.h"

#define MOAI_API_VARIANT(ret, name, base, params, args)

#define MOAI_API(ret, name, params, args) \
  MOAI_FORWARD_EXPORT(ret, name, params, args, moai::cublas, MOAI_CUBLAS_NODE, MOAI_CUBLAS_COMPAT_NODE)
#define MOAI_API_OPAQUE(name) \
  MOAI_OPAQUE_EXPORT(name, CUBLAS_STATUS_NOT_SUPPORTED, MOAI_CUBLAS_NODE, MOAI_CUBLAS_COMPAT_NODE)
#include "cublas_api.inc"
#undef MOAI_API
#undef MOAI_API_OPAQUE

#define MOAI_API(ret, name, params, args) \
  MOAI_FORWARD_EXPORT(ret, name, params, args, moai::cublas, MOAI_CUBLASLT_NODE, MOAI_CUBLASLT_COMPAT_NODE)
#define MOAI_API_OPAQUE(name) \
  MOAI_OPAQUE_EXPORT(name, CUBLAS_STATUS_NOT_SUPPORTED, MOAI_CUBLASLT_NODE, MOAI_CUBLASLT_COMPAT_NODE)
#include "cublasLt_api.inc"

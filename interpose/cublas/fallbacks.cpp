// Weak defaults for every libcublas and libcublasLt function MoAI does not
// implement yet: log the name once, return CUBLAS_STATUS_NOT_SUPPORTED (or a
// zero value for the legacy functions that return data). A strong definition
// in this folder replaces the default at link time.
#include "interpose/common/export_macros.h"
#include "interpose/cublas/api.h"

namespace moai::cublas {
namespace {

template <class T>
T notSupported(const char* name) {
  return notSupportedResult<T>(name, CUBLAS_STATUS_NOT_SUPPORTED);
}

}  // namespace
}  // namespace moai::cublas

#define MOAI_API(ret, name, params, args) MOAI_WEAK_FALLBACK(ret, name, params, moai::cublas, notSupported)
#define MOAI_API_VARIANT(ret, name, base, params, args)
#define MOAI_API_OPAQUE(name)
#include "cublas_api.inc"
#include "cublasLt_api.inc"

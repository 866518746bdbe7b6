// Weak defaults for every libcudart function MoAI does not implement yet:
// log the name once, return cudaErrorNotSupported (or a zero value for the
// few functions that do not return cudaError_t). A strong definition in this
// folder replaces the default at link time.
#include "interpose/common/export_macros.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

template <class T>
T notSupported(const char* name) {
  if constexpr (std::is_same_v<T, cudaError_t>) {
    return setLastError(notSupportedResult<T>(name, cudaErrorNotSupported));
  } else {
    return notSupportedResult<T>(name, cudaErrorNotSupported);
  }
}

}  // namespace
}  // namespace moai::cudart

#define MOAI_API(ret, name, params, args) MOAI_WEAK_FALLBACK(ret, name, params, moai::cudart, notSupported)
#define MOAI_API_VARIANT(ret, name, base, params, args)
#define MOAI_API_OPAQUE(name)
#include "cudart_api.inc"

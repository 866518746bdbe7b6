// Weak defaults for every libcudart function MoAI does not implement yet:
// log the name once, return cudaErrorNotSupported (or a zero value for the
// few functions that do not return cudaError_t). A strong definition in this
// folder replaces the default at link time.
#include <type_traits>

#include "interpose/core/log.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

template <class T>
T notSupported(const char* name) {
  logNotSupportedOnce(name);
  if constexpr (std::is_same_v<T, cudaError_t>) {
    return setLastError(cudaErrorNotSupported);
  } else if constexpr (!std::is_void_v<T>) {
    return T{};
  }
}

}  // namespace
}  // namespace moai::cudart

#define MOAI_API(ret, name, params, args) \
  __attribute__((weak)) ret moai::cudart::name params { return moai::cudart::notSupported<ret>(#name); }
#define MOAI_API_VARIANT(ret, name, base, params, args)
#define MOAI_API_OPAQUE(name)
#include "cudart_api.inc"

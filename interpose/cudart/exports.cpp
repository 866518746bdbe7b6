// The exported libcudart symbols, generated from the one list: each forwards
// to moai::cudart. Every name is also bound to the older version node, so
// binaries linked against either libcudart.so.12 or .13 resolve here.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "interpose/core/client.h"
#include "interpose/core/log.h"
#include "interpose/cudart/api.h"

#define MOAI_EXPORT extern "C" __attribute__((visibility("default")))
// Binds every export to both version nodes: `@@@` gives the function itself
// the default (newest) node, and an alias carries the older one. (A plain
// .symver on the function would rename it and lose the default binding.)
#define MOAI_COMPAT_NODE(ret, name, params)                                                               \
  __asm__(".symver " #name "," #name "@@@" MOAI_CUDART_VERSION);                            \
  extern "C" __attribute__((alias(#name), visibility("default"))) ret moai_compat_##name params; \
  __asm__(".symver moai_compat_" #name "," #name "@" MOAI_CUDART_COMPAT_VERSION);

// Each export is declared first: most have no declaration in the headers
// (hooks, *_ptds/_ptsz variants), and -Wmissing-declarations guards the rest.
#define MOAI_API(ret, name, params, args) \
  MOAI_EXPORT ret name params;            \
  MOAI_EXPORT ret name params { return moai::cudart::name args; } MOAI_COMPAT_NODE(ret, name, params)
#define MOAI_API_VARIANT(ret, name, base, params, args) \
  MOAI_EXPORT ret name params;                          \
  MOAI_EXPORT ret name params {                         \
    moai::Client::PerThreadDefault per_thread_scope;    \
    return moai::cudart::base args;                     \
  }                                                     \
  MOAI_COMPAT_NODE(ret, name, params)
// No header declares these; NVIDIA's own libraries call them. Returning a
// CUDA error code works whatever the real return type is, since none of them
// returns a pointer the caller would dereference.
#define MOAI_API_OPAQUE(name)                 \
  MOAI_EXPORT int name();                     \
  MOAI_EXPORT int name() {                    \
    moai::logNotSupportedOnce(#name);         \
    return cudaErrorNotSupported;             \
  }                                           \
  MOAI_COMPAT_NODE(int, name, ())
#include "cudart_api.inc"
#undef MOAI_API
#undef MOAI_API_VARIANT
#undef MOAI_API_OPAQUE

namespace moai::cudart {
namespace {

struct ExportEntry {
  const char* name;
  void* address;
};

#define MOAI_API(ret, name, params, args) {#name, reinterpret_cast<void*>(static_cast<ret(*) params>(&::name))},
#define MOAI_API_VARIANT(ret, name, base, params, args) MOAI_API(ret, name, params, args)
#define MOAI_API_OPAQUE(name) MOAI_API(int, name, (), ())
const ExportEntry kExports[] = {
#include "cudart_api.inc"
};
#undef MOAI_API
#undef MOAI_API_VARIANT
#undef MOAI_API_OPAQUE

}  // namespace

void* lookupExport(const char* name) {
  if (!name) return nullptr;
  // The generator emits names sorted, so the table is searchable as is.
  auto it = std::lower_bound(std::begin(kExports), std::end(kExports), name,
                             [](const ExportEntry& e, const char* n) { return std::strcmp(e.name, n) < 0; });
  return it != std::end(kExports) && std::strcmp(it->name, name) == 0 ? it->address : nullptr;
}

}  // namespace moai::cudart

// The exported libcudart symbols, generated from the one list: each forwards
// to moai::cudart. Every name is also bound to the older version node, so
// binaries linked against either libcudart.so.12 or .13 resolve here.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "interpose/common/export_macros.h"
#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

#define MOAI_API(ret, name, params, args) \
  MOAI_FORWARD_EXPORT(ret, name, params, args, moai::cudart, MOAI_CUDART_NODE, MOAI_CUDART_COMPAT_NODE)
#define MOAI_API_VARIANT(ret, name, base, params, args) \
  MOAI_EXPORT ret name params;                          \
  MOAI_EXPORT ret name params {                         \
    moai::Client::PerThreadDefault per_thread_scope;    \
    return moai::cudart::base args;                     \
  }                                                     \
  MOAI_BIND_NODES(ret, name, params, MOAI_CUDART_NODE, MOAI_CUDART_COMPAT_NODE)
#define MOAI_API_OPAQUE(name) \
  MOAI_OPAQUE_EXPORT(name, cudaErrorNotSupported, MOAI_CUDART_NODE, MOAI_CUDART_COMPAT_NODE)
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

// Building blocks that turn a generated X-macro list (interpose/gen) into
// exported C symbols, shared by every exported library (cudart, cublas, ...).
//
// An export forwards to the same name in the library's C++ namespace, is
// bound to the library's default version node and, through an alias, to its
// older node, so binaries linked against either major version resolve here.
// Node names come from interpose/gen/meson.build as MOAI_<LIB>_NODE and
// MOAI_<LIB>_COMPAT_NODE.
#pragma once
#include <type_traits>

#include "interpose/core/log.h"

#define MOAI_EXPORT extern "C" __attribute__((visibility("default")))

// `@@@` gives the function itself the default node, and an alias carries the
// older one. (A plain .symver on the function would rename it and lose the
// default binding.)
#define MOAI_BIND_NODES(ret, name, params, node, compat_node)                                    \
  __asm__(".symver " #name "," #name "@@@" node);                                                \
  extern "C" __attribute__((alias(#name), visibility("default"))) ret moai_compat_##name params; \
  __asm__(".symver moai_compat_" #name "," #name "@" compat_node);

// Each export is declared first: many have no declaration in the headers we
// include, and -Wmissing-declarations guards the rest.
#define MOAI_FORWARD_EXPORT(ret, name, params, args, ns, node, compat_node) \
  MOAI_EXPORT ret name params;                                              \
  MOAI_EXPORT ret name params { return ns::name args; }                     \
  MOAI_BIND_NODES(ret, name, params, node, compat_node)

// An export no header declares; NVIDIA's own libraries call it. Returning the
// library's "not supported" code works whatever the real return type is,
// since none of them returns a pointer the caller would dereference.
#define MOAI_OPAQUE_EXPORT(name, not_supported_code, node, compat_node) \
  MOAI_EXPORT int name();                                               \
  MOAI_EXPORT int name() {                                              \
    moai::logNotSupportedOnce(#name);                                   \
    return int(not_supported_code);                                     \
  }                                                                     \
  MOAI_BIND_NODES(int, name, (), node, compat_node)

// A weak default for `ns::name`; a strong definition elsewhere in the shim
// (an implementation) replaces it at link time. `fallback<ret>(name)` is the
// library's not-supported answer.
#define MOAI_WEAK_FALLBACK(ret, name, params, ns, fallback) \
  __attribute__((weak)) ret ns::name params { return ns::fallback<ret>(#name); }

namespace moai {

// Logs `name` once and returns `code` where the function returns the
// library's status type, else a zero value (or nothing).
template <class T, class Status>
T notSupportedResult(const char* name, Status code) {
  logNotSupportedOnce(name);
  if constexpr (std::is_same_v<T, Status>) {
    return code;
  } else if constexpr (!std::is_void_v<T>) {
    return T{};
  }
}

}  // namespace moai

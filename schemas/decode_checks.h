// The validation idiom of every protocol reader: checks throw Invalid, and
// guarded() runs a whole decode, turning an Invalid or a Cap'n Proto
// exception (readers throw lazily on malformed pointers) into an error.
#pragma once
#include <kj/exception.h>

#include <optional>
#include <string>

#include "interpose/core/result.h"

namespace moai::wire::detail {

struct Invalid {
  std::string what;
};

inline void require(bool ok, const char* what) {
  if (!ok) throw Invalid{what};
}

template <class F>
auto guarded(F&& decode) -> Result<decltype(decode())> {
  std::optional<decltype(decode())> out;
  std::string invalid;
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    try {
      out.emplace(decode());
    } catch (Invalid& e) {
      invalid = std::move(e.what);
    }
  });
  KJ_IF_MAYBE(e, failure) {
    return makeError(MODNN_ERR_INVALID_VALUE, std::string("malformed message: ") + e->getDescription().cStr());
  }
  if (!out) return makeError(MODNN_ERR_INVALID_VALUE, "invalid message: " + invalid);
  return std::move(*out);
}

}  // namespace moai::wire::detail

// Result<T>: a value or an error (code + message), for fallible internal calls.
// Codes are modnn_status values; the exported layers convert them to the
// vendor's code (cudaError_t, cublasStatus_t, ...) at the boundary.
#pragma once
#include <string>
#include <utility>
#include <variant>

#include "modnn/status.h"

namespace moai {

struct Error {
  modnn_status code = MODNN_ERR_UNKNOWN;
  std::string message;
};

inline Error makeError(modnn_status code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace moai

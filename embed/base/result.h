#pragma once
// Result<T>: a value or a non-OK Status. Thread-compatible.
//
//   Result<int> r = Parse(text);
//   if (!r.ok()) return r.status();
//   use(r.value());

#include <cstdlib>
#include <optional>
#include <utility>

#include "embed/base/status.h"

namespace embed {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit from a value or from a non-OK status (an OK status is a bug and
  // becomes kInternal).
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status)                          // NOLINT(google-explicit-constructor)
      : status_(status.ok() ? InternalError("Result built from OK status") : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Preconditions: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace embed

// Evaluates `rexpr` (a Result<T>); on error returns its status, else moves the
// value into `lhs` (a declaration such as `auto x` or an existing variable).
#define EMBED_ASSIGN_OR_RETURN(lhs, rexpr)                                        \
  auto EMBED_STATUS_CONCAT_(embed_result_, __LINE__) = (rexpr);                   \
  if (!EMBED_STATUS_CONCAT_(embed_result_, __LINE__).ok())                        \
    return EMBED_STATUS_CONCAT_(embed_result_, __LINE__).status();                \
  lhs = std::move(EMBED_STATUS_CONCAT_(embed_result_, __LINE__)).value()

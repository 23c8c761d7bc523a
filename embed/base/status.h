#pragma once
// Status: an error code and our own message; OK is cheap. Errors are values:
// nothing in Embed throws across an API boundary. Thread-compatible.
//
//   Status s = DoThing();
//   if (!s.ok()) return s;

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace embed {

// A closed set of codes. Pick by who must react and how.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // The caller passed something wrong (a local bug).
  kFailedPrecondition,  // The call is not valid in the object's current state.
  kCancelled,           // The operation was cancelled by the caller or by shutdown.
  kNotFound,            // A named thing does not exist.
  kAlreadyExists,       // A named thing exists already.
  kUnauthenticated,     // Credentials missing or wrong.
  kPermissionDenied,    // Authenticated, but not allowed.
  kResourceExhausted,   // A limit was hit (buffer full, slow consumer, too many subs).
  kProtocolError,       // The peer broke the protocol.
  kTimeout,             // A deadline passed.
  kUnavailable,         // No connection, or no responders.
  kIoError,             // The operating system reported an I/O failure.
  kDataLoss,            // Data is corrupt (bad checksum).
  kInternal,            // Our own bug.
};

// Returns the code's name, e.g. "kTimeout" -> "TIMEOUT".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // Constructs OK.
  Status() = default;
  Status(StatusCode code, std::string_view message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // Our own description of the failure; empty for OK.
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : ""; }
  // "TIMEOUT: flush timed out", or "OK".
  std::string ToString() const;

  // Marks the status as deliberately ignored.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  // shared_ptr keeps copies cheap; the Rep is immutable once built.
  std::shared_ptr<const Rep> rep_;
};

inline Status InvalidArgumentError(std::string_view m) { return {StatusCode::kInvalidArgument, m}; }
inline Status FailedPreconditionError(std::string_view m) { return {StatusCode::kFailedPrecondition, m}; }
inline Status CancelledError(std::string_view m) { return {StatusCode::kCancelled, m}; }
inline Status NotFoundError(std::string_view m) { return {StatusCode::kNotFound, m}; }
inline Status AlreadyExistsError(std::string_view m) { return {StatusCode::kAlreadyExists, m}; }
inline Status UnauthenticatedError(std::string_view m) { return {StatusCode::kUnauthenticated, m}; }
inline Status PermissionDeniedError(std::string_view m) { return {StatusCode::kPermissionDenied, m}; }
inline Status ResourceExhaustedError(std::string_view m) { return {StatusCode::kResourceExhausted, m}; }
inline Status ProtocolError(std::string_view m) { return {StatusCode::kProtocolError, m}; }
inline Status TimeoutError(std::string_view m) { return {StatusCode::kTimeout, m}; }
inline Status UnavailableError(std::string_view m) { return {StatusCode::kUnavailable, m}; }
inline Status IoError(std::string_view m) { return {StatusCode::kIoError, m}; }
inline Status DataLossError(std::string_view m) { return {StatusCode::kDataLoss, m}; }
inline Status InternalError(std::string_view m) { return {StatusCode::kInternal, m}; }

}  // namespace embed

#define EMBED_STATUS_CONCAT_INNER_(a, b) a##b
#define EMBED_STATUS_CONCAT_(a, b) EMBED_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define EMBED_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::embed::Status embed_status_tmp_ = (expr);      \
    if (!embed_status_tmp_.ok()) return embed_status_tmp_; \
  } while (false)

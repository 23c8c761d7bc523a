// The C ABI (embed.h): a thin shim over internal::Bridge and
// internal::EventQueue. Every entry point is noexcept and catches what the
// C++ underneath may throw (bad_alloc), answering EMBED_INTERNAL.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <string>

#include "embed/c_api/embed.h"
#include "embed/c_api/internal/bridge.h"
#include "embed/c_api/internal/convert.h"
#include "embed/c_api/internal/event_queue.h"
#include "embed/v1/bridge.pb.h"

namespace {

using embed::c_api::internal::Bridge;
using embed::c_api::internal::EventQueue;

constexpr std::size_t kDefaultEventQueueBytes = 64 * 1024 * 1024;
// Requests and configs are small; anything larger is refused before parsing.
constexpr std::size_t kMaxRequestBytes = 256 * 1024 * 1024;

}  // namespace

struct embed_error_t {
  embed_status code;
  std::string message;
};

struct embed_t {
  enum class Lifecycle { kOpen, kClosing, kClosed };
  std::unique_ptr<EventQueue> events;
  std::unique_ptr<Bridge> bridge;
  std::mutex close_mutex;
  std::condition_variable closed;
  Lifecycle lifecycle = Lifecycle::kOpen;
};

namespace {

embed_status Fail(embed_error_t** err, embed_status code, std::string message) noexcept {
  if (err != nullptr) {
    try {
      *err = new embed_error_t{code, std::move(message)};
    } catch (...) {
      *err = nullptr;  // out of memory: the code alone must do
    }
  }
  return code;
}

embed_status Succeed(embed_error_t** err) noexcept {
  if (err != nullptr) *err = nullptr;
  return EMBED_OK;
}

// Copies bytes into a malloc'd buffer the app frees with embed_bytes_free().
bool CopyOut(const std::string& bytes, uint8_t** out, size_t* out_len) noexcept {
  // malloc(0) may return null: always allocate at least one byte.
  auto* buffer = static_cast<uint8_t*>(std::malloc(bytes.empty() ? 1 : bytes.size()));
  if (buffer == nullptr) return false;
  if (!bytes.empty()) std::memcpy(buffer, bytes.data(), bytes.size());
  *out = buffer;
  *out_len = bytes.size();
  return true;
}

// Parses a Request; EMBED_INVALID_ARGUMENT (and *err) when it cannot be used.
embed_status ParseRequest(const uint8_t* bytes, size_t len, embed::v1::Request* request,
                          embed_error_t** err) {
  if (bytes == nullptr && len != 0) {
    return Fail(err, EMBED_INVALID_ARGUMENT, "request is NULL with a non-zero length");
  }
  if (len > kMaxRequestBytes) {
    return Fail(err, EMBED_INVALID_ARGUMENT, "request larger than 256 MiB");
  }
  if (!request->ParseFromArray(bytes, static_cast<int>(len))) {
    return Fail(err, EMBED_INVALID_ARGUMENT, "request is not an embed.v1.Request");
  }
  // An operation of a newer bridge.proto arrives as an unknown field: it is
  // accepted and answered UNIMPLEMENTED, so the app can tell it from garbage.
  if (request->op_case() == embed::v1::Request::OP_NOT_SET &&
      !embed::c_api::internal::HasUnknownOperation(*request)) {
    return Fail(err, EMBED_INVALID_ARGUMENT, "request has no operation");
  }
  return EMBED_OK;
}

bool IsClosed(embed_t* handle) {
  std::lock_guard lock(handle->close_mutex);
  return handle->lifecycle != embed_t::Lifecycle::kOpen;
}

// The two embed_set_*event_callback functions: checks, then `set`.
template <typename Set>
embed_status SetCallback(embed_t* handle, embed_error_t** err, const char* function,
                         const Set& set) noexcept {
  try {
    if (handle == nullptr) return Fail(err, EMBED_INVALID_ARGUMENT, "handle is NULL");
    if (handle->events->IsCallbackThread()) {
      return Fail(err, EMBED_FAILED_PRECONDITION,
                  std::string(function) + " from the event callback itself");
    }
    set(*handle->events);
    return Succeed(err);
  } catch (const std::exception& error) {
    return Fail(err, EMBED_INTERNAL, std::string(function) + ": " + error.what());
  } catch (...) {
    return Fail(err, EMBED_INTERNAL, std::string(function) + ": unknown exception");
  }
}

}  // namespace

extern "C" {

const char* embed_version(void) noexcept { return EMBED_VERSION_STRING; }

embed_status embed_open(const uint8_t* config, size_t config_len, embed_t** out,
                        embed_error_t** err) noexcept {
  try {
    if (out == nullptr) return Fail(err, EMBED_INVALID_ARGUMENT, "out is NULL");
    *out = nullptr;
    if (config == nullptr && config_len != 0) {
      return Fail(err, EMBED_INVALID_ARGUMENT, "config is NULL with a non-zero length");
    }
    embed::v1::Config parsed;
    if (config_len > kMaxRequestBytes ||
        !parsed.ParseFromArray(config, static_cast<int>(config_len))) {
      return Fail(err, EMBED_INVALID_ARGUMENT, "config is not an embed.v1.Config");
    }
    auto handle = std::make_unique<embed_t>();
    std::size_t queue_bytes = parsed.event_queue_max_bytes() == 0
                                  ? kDefaultEventQueueBytes
                                  : static_cast<std::size_t>(parsed.event_queue_max_bytes());
    handle->events = std::make_unique<EventQueue>(queue_bytes);
    handle->bridge = std::make_unique<Bridge>(parsed, *handle->events);
    *out = handle.release();
    return Succeed(err);
  } catch (const std::exception& error) {
    return Fail(err, EMBED_INTERNAL, std::string("embed_open: ") + error.what());
  } catch (...) {
    return Fail(err, EMBED_INTERNAL, "embed_open: unknown exception");
  }
}

void embed_close(embed_t* handle) noexcept {
  if (handle == nullptr) return;
  try {
    {
      std::unique_lock lock(handle->close_mutex);
      // From the callback it would wait for itself to return.
      if (handle->events->IsCallbackThread()) return;
      if (handle->lifecycle != embed_t::Lifecycle::kOpen) {
        // Another thread closes it: return when it is done, as promised.
        handle->closed.wait(lock, [&] { return handle->lifecycle == embed_t::Lifecycle::kClosed; });
        return;
      }
      handle->lifecycle = embed_t::Lifecycle::kClosing;
    }
    handle->bridge->Close();
    handle->events->Close();
  } catch (...) {
    // Nothing can be reported from here; the handle counts as closed.
  }
  std::lock_guard lock(handle->close_mutex);
  handle->lifecycle = embed_t::Lifecycle::kClosed;
  handle->closed.notify_all();
}

void embed_free(embed_t* handle) noexcept {
  if (handle == nullptr) return;
  embed_close(handle);
  try {
    delete handle;
  } catch (...) {
  }
}

embed_status embed_call(embed_t* handle, const uint8_t* request, size_t request_len,
                        embed_error_t** err) noexcept {
  try {
    if (handle == nullptr) return Fail(err, EMBED_INVALID_ARGUMENT, "handle is NULL");
    embed::v1::Request parsed;
    if (embed_status status = ParseRequest(request, request_len, &parsed, err);
        status != EMBED_OK) {
      return status;
    }
    if (parsed.id() == 0) {
      return Fail(err, EMBED_INVALID_ARGUMENT,
                  "embed_call needs a request id (its response carries it)");
    }
    if (IsClosed(handle)) return Fail(err, EMBED_FAILED_PRECONDITION, "the handle is closed");
    if (!handle->bridge->Submit(std::move(parsed))) {
      return Fail(err, EMBED_RESOURCE_EXHAUSTED,
                  "too many calls waiting to start (or the handle is closing)");
    }
    return Succeed(err);
  } catch (const std::exception& error) {
    return Fail(err, EMBED_INTERNAL, std::string("embed_call: ") + error.what());
  } catch (...) {
    return Fail(err, EMBED_INTERNAL, "embed_call: unknown exception");
  }
}

embed_status embed_call_sync(embed_t* handle, const uint8_t* request, size_t request_len,
                             uint8_t** response, size_t* response_len,
                             embed_error_t** err) noexcept {
  try {
    if (handle == nullptr) return Fail(err, EMBED_INVALID_ARGUMENT, "handle is NULL");
    if (response == nullptr || response_len == nullptr) {
      return Fail(err, EMBED_INVALID_ARGUMENT, "response or response_len is NULL");
    }
    *response = nullptr;
    *response_len = 0;
    embed::v1::Request parsed;
    if (embed_status status = ParseRequest(request, request_len, &parsed, err);
        status != EMBED_OK) {
      return status;
    }
    if (IsClosed(handle)) return Fail(err, EMBED_FAILED_PRECONDITION, "the handle is closed");
    std::promise<embed::v1::Response> answered;
    std::future<embed::v1::Response> answer = answered.get_future();
    handle->bridge->Execute(
        parsed, [&answered](embed::v1::Response out) { answered.set_value(std::move(out)); });
    std::string bytes = answer.get().SerializeAsString();
    if (!CopyOut(bytes, response, response_len)) {
      return Fail(err, EMBED_RESOURCE_EXHAUSTED, "out of memory for the response");
    }
    return Succeed(err);
  } catch (const std::exception& error) {
    return Fail(err, EMBED_INTERNAL, std::string("embed_call_sync: ") + error.what());
  } catch (...) {
    return Fail(err, EMBED_INTERNAL, "embed_call_sync: unknown exception");
  }
}

embed_status embed_set_event_callback(embed_t* handle, embed_event_callback callback,
                                      void* user_data, embed_error_t** err) noexcept {
  return SetCallback(handle, err, "embed_set_event_callback",
                     [&](EventQueue& events) { events.SetCallback(callback, user_data); });
}

embed_status embed_set_owned_event_callback(embed_t* handle, embed_owned_event_callback callback,
                                            void* user_data, embed_error_t** err) noexcept {
  return SetCallback(handle, err, "embed_set_owned_event_callback",
                     [&](EventQueue& events) { events.SetOwnedCallback(callback, user_data); });
}

embed_status embed_poll(embed_t* handle, int32_t timeout_ms, uint8_t** event, size_t* event_len,
                        embed_error_t** err) noexcept {
  using embed::c_api::internal::PollOutcome;
  try {
    if (handle == nullptr) return Fail(err, EMBED_INVALID_ARGUMENT, "handle is NULL");
    if (event == nullptr || event_len == nullptr) {
      return Fail(err, EMBED_INVALID_ARGUMENT, "event or event_len is NULL");
    }
    *event = nullptr;
    *event_len = 0;
    std::string bytes;
    auto timeout = std::chrono::milliseconds(timeout_ms < 0 ? -1 : timeout_ms);
    switch (handle->events->Poll(timeout, &bytes)) {
      case PollOutcome::kEvent:
        if (!CopyOut(bytes, event, event_len)) {
          return Fail(err, EMBED_RESOURCE_EXHAUSTED, "out of memory for the event");
        }
        return Succeed(err);
      case PollOutcome::kTimedOut:
        return Fail(err, EMBED_DEADLINE_EXCEEDED, "no event within the timeout");
      case PollOutcome::kCallbackSet:
        return Fail(err, EMBED_FAILED_PRECONDITION, "events go to the callback");
      case PollOutcome::kClosed:
        return Fail(err, EMBED_CANCELLED, "the handle is closed and its events taken");
    }
    return Fail(err, EMBED_INTERNAL, "embed_poll: unknown outcome");
  } catch (const std::exception& error) {
    return Fail(err, EMBED_INTERNAL, std::string("embed_poll: ") + error.what());
  } catch (...) {
    return Fail(err, EMBED_INTERNAL, "embed_poll: unknown exception");
  }
}

void embed_bytes_free(uint8_t* bytes) noexcept { std::free(bytes); }

embed_status embed_error_code(const embed_error_t* error) noexcept {
  return error == nullptr ? EMBED_OK : error->code;
}

const char* embed_error_message(const embed_error_t* error) noexcept {
  return error == nullptr ? "" : error->message.c_str();
}

void embed_error_free(embed_error_t* error) noexcept { delete error; }

}  // extern "C"

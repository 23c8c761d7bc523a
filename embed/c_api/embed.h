/* Embed's C ABI: the one public C header (C11 and C++).
 *
 * Every request, response and event is a protobuf message of
 * proto/embed/v1/bridge.proto (package embed.v1): the app serializes a
 * Request, passes its bytes to embed_call() or embed_call_sync(), and reads
 * serialized Events. Generate the message classes for your language from that
 * file (protoc --dart_out / --swift_out / --python_out / protoc-c ...).
 *
 * Conventions
 * - An embed_t is an opaque handle: embed_open() makes it, embed_close() ends
 *   its work (connection, subscriptions, streams, databases, hub), and
 *   embed_free() releases it. All functions may be called from any thread,
 *   concurrently, except embed_free(), which must be the last call on it.
 * - Fallible functions return an embed_status: EMBED_OK (0) or a gRPC status
 *   code (same numbers). When `err` is not NULL and the call fails, *err
 *   receives an error object describing it (free it with embed_error_free());
 *   on success *err is set to NULL. There is no thread-local error state.
 * - Byte arrays are (pointer, length) and never assume a trailing NUL.
 *   Bytes returned to the app (embed_call_sync, embed_poll) are owned by the
 *   app and freed with embed_bytes_free().
 * - No function throws or aborts on bad input; malformed protobuf bytes give
 *   EMBED_INVALID_ARGUMENT.
 *
 * Events
 * - Each handle has one ordered event queue: responses of embed_call(),
 *   subscription messages, streamed RPC messages, database changes,
 *   connection-state changes and errors. It is delivered either to a
 *   callback (embed_set_event_callback) or by embed_poll(), not both.
 * - The callback runs on a thread owned by the library (one per handle, never
 *   an app thread), one event at a time, in queue order. It may call any
 *   function of this header except embed_close()/embed_free() of its own
 *   handle and embed_set_event_callback(). It should return quickly: later
 *   events wait for it. This suits Python's ctypes callbacks (which take the
 *   GIL), JNI and Swift closures.
 * - Bytes passed to an embed_event_callback are valid only until it returns.
 *   An embed_owned_event_callback instead owns them (free each with
 *   embed_bytes_free()): that suits callers that read the event after the
 *   callback has returned, such as Dart's NativeCallable.listener, which
 *   returns to the library at once and runs the Dart function later on the
 *   isolate's event loop (still in order).
 */
#ifndef EMBED_C_API_EMBED_H_
#define EMBED_C_API_EMBED_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define EMBED_EXPORT __declspec(dllexport)
#else
#define EMBED_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
#define EMBED_NOEXCEPT noexcept
extern "C" {
#else
#define EMBED_NOEXCEPT
#endif

/* gRPC status codes (embed.v1.StatusCode). */
typedef enum embed_status {
  EMBED_OK = 0,
  EMBED_CANCELLED = 1,
  EMBED_UNKNOWN = 2,
  EMBED_INVALID_ARGUMENT = 3,
  EMBED_DEADLINE_EXCEEDED = 4,
  EMBED_NOT_FOUND = 5,
  EMBED_ALREADY_EXISTS = 6,
  EMBED_PERMISSION_DENIED = 7,
  EMBED_RESOURCE_EXHAUSTED = 8,
  EMBED_FAILED_PRECONDITION = 9,
  EMBED_ABORTED = 10,
  EMBED_OUT_OF_RANGE = 11,
  EMBED_UNIMPLEMENTED = 12,
  EMBED_INTERNAL = 13,
  EMBED_UNAVAILABLE = 14,
  EMBED_DATA_LOSS = 15,
  EMBED_UNAUTHENTICATED = 16
} embed_status;

typedef struct embed_t embed_t;
typedef struct embed_error_t embed_error_t;

/* Called with one serialized embed.v1.Event; see "Events" above. */
typedef void (*embed_event_callback)(void* user_data, const uint8_t* event, size_t event_len);
/* The same, but `event` belongs to the callee, which frees it with
 * embed_bytes_free() (it may do so later, on another thread). */
typedef void (*embed_owned_event_callback)(void* user_data, uint8_t* event, size_t event_len);

/* The library's version, "MAJOR.MINOR.PATCH"; a static string. */
EMBED_EXPORT const char* embed_version(void) EMBED_NOEXCEPT;

/* Opens a handle configured by a serialized embed.v1.Config (len 0 = all
 * defaults). On success *out receives the handle. */
EMBED_EXPORT embed_status embed_open(const uint8_t* config, size_t config_len, embed_t** out,
                                     embed_error_t** err) EMBED_NOEXCEPT;

/* Ends everything the handle runs: open calls get their Response (CANCELLED
 * when unfinished), the connection closes, databases close, the hub stops.
 * Later calls fail with EMBED_FAILED_PRECONDITION; embed_poll() still returns
 * the events queued before, then EMBED_CANCELLED. Blocks until the callback,
 * if any, has returned for the last time. Idempotent; not from the callback. */
EMBED_EXPORT void embed_close(embed_t* handle) EMBED_NOEXCEPT;

/* Closes (if needed) and releases the handle. NULL is allowed. */
EMBED_EXPORT void embed_free(embed_t* handle) EMBED_NOEXCEPT;

/* Starts the serialized embed.v1.Request; its embed.v1.Response arrives
 * later as an Event with the same id. Requests start one at a time in the
 * order embed_call() accepted them (a publish after a subscribe is sent after
 * it); those that wait on the network (request, rpc) do not hold up the next.
 * Returns EMBED_OK when the request was accepted; a request that cannot be
 * read (bad bytes, no operation, id 0) fails here and produces no event. */
EMBED_EXPORT embed_status embed_call(embed_t* handle, const uint8_t* request, size_t request_len,
                                     embed_error_t** err) EMBED_NOEXCEPT;

/* Runs the serialized embed.v1.Request and waits for its Response, stored in
 * *response (embed_bytes_free() it). Returns EMBED_OK when a Response was
 * produced, whatever its status; the operation's outcome is the Response's
 * status. It runs on the calling thread, beside (not after) earlier
 * embed_call()s still in progress. Events the call opens (subscription
 * messages, streamed RPC messages, changes) still arrive as events. From the
 * event callback it works too, but events wait while it blocks. */
EMBED_EXPORT embed_status embed_call_sync(embed_t* handle, const uint8_t* request,
                                          size_t request_len, uint8_t** response,
                                          size_t* response_len, embed_error_t** err) EMBED_NOEXCEPT;

/* Delivers events to `callback` from the library's event thread from now on
 * (events already queued first). NULL switches back to embed_poll(). Returns
 * after any callback in progress has returned. Not from the callback. */
EMBED_EXPORT embed_status embed_set_event_callback(embed_t* handle, embed_event_callback callback,
                                                   void* user_data,
                                                   embed_error_t** err) EMBED_NOEXCEPT;

/* As embed_set_event_callback(), but each event's bytes are handed over to
 * `callback` (see embed_owned_event_callback). NULL switches back to
 * embed_poll(). Either kind of callback replaces the other. */
EMBED_EXPORT embed_status embed_set_owned_event_callback(embed_t* handle,
                                                         embed_owned_event_callback callback,
                                                         void* user_data,
                                                         embed_error_t** err) EMBED_NOEXCEPT;

/* Takes the next event, waiting up to timeout_ms (0 = do not wait, -1 =
 * forever). EMBED_OK with *event set (embed_bytes_free() it);
 * EMBED_DEADLINE_EXCEEDED when none came in time; EMBED_FAILED_PRECONDITION
 * while a callback is set; EMBED_CANCELLED once the handle is closed and its
 * queue empty. */
EMBED_EXPORT embed_status embed_poll(embed_t* handle, int32_t timeout_ms, uint8_t** event,
                                     size_t* event_len, embed_error_t** err) EMBED_NOEXCEPT;

/* Frees bytes returned by embed_call_sync() or embed_poll(). NULL is allowed. */
EMBED_EXPORT void embed_bytes_free(uint8_t* bytes) EMBED_NOEXCEPT;

/* The error's code and message (NUL-terminated, owned by the error). */
EMBED_EXPORT embed_status embed_error_code(const embed_error_t* error) EMBED_NOEXCEPT;
EMBED_EXPORT const char* embed_error_message(const embed_error_t* error) EMBED_NOEXCEPT;
/* NULL is allowed. */
EMBED_EXPORT void embed_error_free(embed_error_t* error) EMBED_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EMBED_C_API_EMBED_H_ */

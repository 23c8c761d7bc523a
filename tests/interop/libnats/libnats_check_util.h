/* What libnats_checks.c and libnats_tls_checks.c share: failure reporting, message and
 * request/reply expectations, and the end-of-run summary. Each program links
 * libnats_check_util.c. */
#ifndef EMBED_TESTS_INTEROP_LIBNATS_LIBNATS_CHECK_UTIL_H_
#define EMBED_TESTS_INTEROP_LIBNATS_LIBNATS_CHECK_UTIL_H_

#include <stdbool.h>

#include <nats/nats.h>

/* Bounds every wait of a check on a broken server; the checks wait for completion, not time. */
enum { kTimeoutMs = 5000 };

/* How many expectations failed so far; Fail counts them. */
extern int failure_count;

#if defined(__GNUC__)
#define LIBNATS_CHECK_PRINTF(format_index, first_argument) \
  __attribute__((format(printf, format_index, first_argument)))
#else
#define LIBNATS_CHECK_PRINTF(format_index, first_argument)
#endif

/* Reports a failed expectation of `check` and counts it. */
void Fail(const char *check, const char *format, ...) LIBNATS_CHECK_PRINTF(2, 3);

/* Returns true when `status` is NATS_OK, else reports `what` as a failure of `check`. */
bool Ok(const char *check, const char *what, natsStatus status);

/* Closes and destroys `connection`; NULL is fine. */
void Disconnect(natsConnection *connection);

/* Receives the next message of `subscription` and checks its subject and its `length` bytes. */
bool ExpectMessageBytes(const char *check, natsSubscription *subscription, const char *subject,
                        const char *data, int length);

/* ExpectMessageBytes with a string payload. */
bool ExpectMessage(const char *check, natsSubscription *subscription, const char *subject,
                   const char *payload);

/* A natsMsgHandler that replies "echo:<payload>" with a header "X-Replied-By: <closure>"
 * (`closure` is a const char *). */
void EchoResponder(natsConnection *connection, natsSubscription *subscription, natsMsg *request,
                   void *closure);

/* Sends `count` requests "request-<i>" to `subject`, where an EchoResponder answers, and checks
 * each reply's payload and its X-Replied-By header (`replied_by`). Stops at the first failure;
 * returns true when every reply was right. */
bool ExpectEchoes(const char *check, natsConnection *requester, const char *subject, int count,
                  const char *replied_by);

/* Calls nats_Open; false (after saying so) when it fails. */
bool OpenLibrary(void);

/* Calls nats_Close and prints the summary line of `program` against `url` (with `note`
 * appended when it passed); returns the exit status: 0 when no check failed, else 1. */
int FinishChecks(const char *program, const char *url, const char *note);

#endif /* EMBED_TESTS_INTEROP_LIBNATS_LIBNATS_CHECK_UTIL_H_ */

/* See libnats_check_util.h. */
#include "libnats_check_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int failure_count = 0;

void Fail(const char *check, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  fprintf(stderr, "FAIL %s: ", check);
  vfprintf(stderr, format, arguments);
  fputc('\n', stderr);
  va_end(arguments);
  ++failure_count;
}

bool Ok(const char *check, const char *what, natsStatus status) {
  if (status == NATS_OK) return true;
  Fail(check, "%s: %s (%s)", what, natsStatus_GetText(status), nats_GetLastError(NULL));
  return false;
}

void Disconnect(natsConnection *connection) {
  if (connection == NULL) return;
  natsConnection_Close(connection);
  natsConnection_Destroy(connection);
}

bool ExpectMessageBytes(const char *check, natsSubscription *subscription, const char *subject,
                        const char *data, int length) {
  natsMsg *message = NULL;
  if (!Ok(check, "next message", natsSubscription_NextMsg(&message, subscription, kTimeoutMs))) {
    return false;
  }
  bool matches = strcmp(natsMsg_GetSubject(message), subject) == 0 &&
                 natsMsg_GetDataLength(message) == length &&
                 memcmp(natsMsg_GetData(message), data, (size_t)length) == 0;
  if (!matches) {
    /* Payloads are shown only up to 64 bytes: some checks send hundreds of kilobytes. */
    int got = natsMsg_GetDataLength(message);
    Fail(check, "got %d bytes '%.*s' on '%s', want %d bytes '%.*s' on '%s'", got,
         got < 64 ? got : 64, natsMsg_GetData(message), natsMsg_GetSubject(message), length,
         length < 64 ? length : 64, data, subject);
  }
  natsMsg_Destroy(message);
  return matches;
}

bool ExpectMessage(const char *check, natsSubscription *subscription, const char *subject,
                   const char *payload) {
  return ExpectMessageBytes(check, subscription, subject, payload, (int)strlen(payload));
}

void EchoResponder(natsConnection *connection, natsSubscription *subscription, natsMsg *request,
                   void *closure) {
  (void)subscription;
  char payload[256];
  int length = snprintf(payload, sizeof payload, "echo:%.*s", natsMsg_GetDataLength(request),
                        natsMsg_GetData(request));
  natsMsg *reply = NULL;
  if (natsMsg_GetReply(request) != NULL &&
      natsMsg_Create(&reply, natsMsg_GetReply(request), NULL, payload, length) == NATS_OK) {
    natsMsgHeader_Set(reply, "X-Replied-By", (const char *)closure);
    natsConnection_PublishMsg(connection, reply);
    natsMsg_Destroy(reply);
  }
  natsMsg_Destroy(request);
}

bool ExpectEchoes(const char *check, natsConnection *requester, const char *subject, int count,
                  const char *replied_by) {
  int failures_before = failure_count;
  for (int i = 0; i < count && failure_count == failures_before; ++i) {
    char payload[32];
    char expected[64];
    snprintf(payload, sizeof payload, "request-%d", i);
    snprintf(expected, sizeof expected, "echo:%s", payload);
    natsMsg *reply = NULL;
    if (!Ok(check, "request",
            natsConnection_RequestString(&reply, requester, subject, payload, kTimeoutMs))) {
      break;
    }
    const char *reply_header = NULL;
    if (natsMsg_GetDataLength(reply) != (int)strlen(expected) ||
        memcmp(natsMsg_GetData(reply), expected, strlen(expected)) != 0) {
      Fail(check, "reply '%s', want '%s'", natsMsg_GetData(reply), expected);
    } else if (natsMsgHeader_Get(reply, "X-Replied-By", &reply_header) != NATS_OK ||
               strcmp(reply_header, replied_by) != 0) {
      Fail(check, "reply lacks the X-Replied-By header");
    }
    natsMsg_Destroy(reply);
  }
  return failure_count == failures_before;
}

bool OpenLibrary(void) {
  if (nats_Open(-1) == NATS_OK) return true;
  fprintf(stderr, "nats_Open failed\n");
  return false;
}

int FinishChecks(const char *program, const char *url, const char *note) {
  nats_Close();
  if (failure_count != 0) {
    fprintf(stderr, "%s: %d check(s) failed against %s\n", program, failure_count, url);
    return 1;
  }
  printf("%s: all checks passed against %s%s\n", program, url, note);
  return 0;
}

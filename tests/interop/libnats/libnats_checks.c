/* Interop checks of libnats (the NATS C client, nats.c) against a NATS server: publish/subscribe
 * with wildcards, queue groups, request/reply and no-responders, headers, auto-unsubscribe,
 * large payloads.
 * The same program runs against nats-server (which proves the checks) and Embed's broker.
 *
 *   libnats_checks nats://127.0.0.1:4222
 *
 * Prints one line per check and exits 0 only if every check passes. Waits use completion
 * (flush round trips, counts), not sleeps; the timeouts only bound a broken server.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "libnats_check_util.h"

enum {
  kPubSubMessages = 100,
  kQueueMembers = 4,
  kQueueMessages = 200,
  kRequests = 20,
  kAutoUnsubscribeMax = 3,
  kAutoUnsubscribePublished = 10,
  kLargePayloadBytes = 512 * 1024,
  kLargeMessages = 3,
};

static natsConnection *Connect(const char *check, const char *url) {
  natsConnection *connection = NULL;
  if (!Ok(check, "connect", natsConnection_ConnectTo(&connection, url))) return NULL;
  return connection;
}

/* Returns how many messages the server has sent on `connection` (after a flush round trip,
 * everything it routed there), or UINT64_MAX on error. */
static uint64_t InboundMessages(const char *check, natsConnection *connection) {
  natsStatistics *statistics = NULL;
  uint64_t inbound_messages = UINT64_MAX;
  if (!Ok(check, "flush", natsConnection_FlushTimeout(connection, kTimeoutMs)) ||
      !Ok(check, "statistics", natsStatistics_Create(&statistics)) ||
      !Ok(check, "statistics", natsConnection_GetStats(connection, statistics)) ||
      !Ok(check, "statistics",
          natsStatistics_GetCounts(statistics, &inbound_messages, NULL, NULL, NULL, NULL))) {
    inbound_messages = UINT64_MAX;
  }
  natsStatistics_Destroy(statistics);
  return inbound_messages;
}

/* Checks that nothing more is queued on `subscription` (call after a flush round trip). */
static bool ExpectNoMoreMessages(const char *check, natsSubscription *subscription) {
  int pending_messages = 0;
  int pending_bytes = 0;
  if (!Ok(check, "pending",
          natsSubscription_GetPending(subscription, &pending_messages, &pending_bytes))) {
    return false;
  }
  if (pending_messages != 0) {
    Fail(check, "%d unexpected message(s) delivered", pending_messages);
    return false;
  }
  return true;
}

/* One publisher, one subscriber: every message arrives once, in order, intact; wildcards `*`
 * and `>` match as the protocol says. */
static void CheckPubSub(const char *url) {
  const char *check = "pubsub";
  natsConnection *publisher = Connect(check, url);
  natsConnection *subscriber = Connect(check, url);
  natsSubscription *exact = NULL;
  natsSubscription *single_token = NULL;
  natsSubscription *tail = NULL;
  if (publisher == NULL || subscriber == NULL) goto done;
  if (!Ok(check, "subscribe", natsConnection_SubscribeSync(&exact, subscriber, "interop.pubsub")) ||
      !Ok(check, "subscribe *",
          natsConnection_SubscribeSync(&single_token, subscriber, "interop.wild.*")) ||
      !Ok(check, "subscribe >",
          natsConnection_SubscribeSync(&tail, subscriber, "interop.tail.>")) ||
      !Ok(check, "flush subscriber", natsConnection_FlushTimeout(subscriber, kTimeoutMs))) {
    goto done;
  }

  char payload[32];
  for (int i = 0; i < kPubSubMessages; ++i) {
    snprintf(payload, sizeof payload, "message-%d", i);
    if (!Ok(check, "publish", natsConnection_PublishString(publisher, "interop.pubsub", payload)))
      goto done;
  }
  /* "interop.wild.a.b" must not match "interop.wild.*"; "interop.tail" must not match ">". */
  if (!Ok(check, "publish", natsConnection_PublishString(publisher, "interop.wild.a.b", "no")) ||
      !Ok(check, "publish", natsConnection_PublishString(publisher, "interop.wild.a", "one")) ||
      !Ok(check, "publish", natsConnection_PublishString(publisher, "interop.tail", "no")) ||
      !Ok(check, "publish", natsConnection_PublishString(publisher, "interop.tail.a.b", "many")) ||
      !Ok(check, "flush publisher", natsConnection_FlushTimeout(publisher, kTimeoutMs))) {
    goto done;
  }

  for (int i = 0; i < kPubSubMessages; ++i) {
    snprintf(payload, sizeof payload, "message-%d", i);
    if (!ExpectMessage(check, exact, "interop.pubsub", payload)) goto done;
  }
  if (!ExpectMessage(check, single_token, "interop.wild.a", "one") ||
      !ExpectMessage(check, tail, "interop.tail.a.b", "many") ||
      !Ok(check, "flush subscriber", natsConnection_FlushTimeout(subscriber, kTimeoutMs)) ||
      !ExpectNoMoreMessages(check, exact) || !ExpectNoMoreMessages(check, single_token) ||
      !ExpectNoMoreMessages(check, tail)) {
    goto done;
  }

  /* After an unsubscribe and a flush, nothing more arrives. */
  if (!Ok(check, "unsubscribe", natsSubscription_Unsubscribe(exact))) goto done;
  natsSubscription_Destroy(exact);
  exact = NULL;
  natsSubscription *control = NULL;
  if (!Ok(check, "subscribe control",
          natsConnection_SubscribeSync(&control, subscriber, "interop.pubsub.control")) ||
      !Ok(check, "flush subscriber", natsConnection_FlushTimeout(subscriber, kTimeoutMs)) ||
      !Ok(check, "publish", natsConnection_PublishString(publisher, "interop.pubsub", "late")) ||
      !Ok(check, "publish",
          natsConnection_PublishString(publisher, "interop.pubsub.control", "control"))) {
    natsSubscription_Destroy(control);
    goto done;
  }
  /* The control message follows the late one from the same publisher, so once it is here the
   * late one would be too, had the server not dropped the subscription. */
  if (ExpectMessage(check, control, "interop.pubsub.control", "control")) {
    uint64_t inbound = InboundMessages(check, subscriber);
    uint64_t expected = kPubSubMessages + 2 + 1;
    if (inbound != expected) {
      Fail(check, "the server sent %llu messages, want %llu (one after UNSUB?)",
           (unsigned long long)inbound, (unsigned long long)expected);
    } else {
      printf("ok   pubsub: %d messages in order, wildcards, unsubscribe\n", kPubSubMessages);
    }
  }
  natsSubscription_Destroy(control);

done:
  natsSubscription_Destroy(exact);
  natsSubscription_Destroy(single_token);
  natsSubscription_Destroy(tail);
  Disconnect(publisher);
  Disconnect(subscriber);
}

/* kQueueMembers members of one queue group, each on its own connection, plus one plain
 * subscriber: each message goes to exactly one member, and to the plain subscriber too. */
static void CheckQueueGroups(const char *url) {
  const char *check = "queue groups";
  natsConnection *publisher = Connect(check, url);
  natsConnection *members[kQueueMembers] = {NULL};
  natsSubscription *member_subscriptions[kQueueMembers] = {NULL};
  natsConnection *observer = NULL;
  natsSubscription *observer_subscription = NULL;
  if (publisher == NULL) goto done;
  for (int m = 0; m < kQueueMembers; ++m) {
    members[m] = Connect(check, url);
    if (members[m] == NULL ||
        !Ok(check, "queue subscribe",
            natsConnection_QueueSubscribeSync(&member_subscriptions[m], members[m], "interop.queue",
                                              "workers")) ||
        !Ok(check, "flush member", natsConnection_FlushTimeout(members[m], kTimeoutMs))) {
      goto done;
    }
  }
  observer = Connect(check, url);
  if (observer == NULL ||
      !Ok(check, "subscribe",
          natsConnection_SubscribeSync(&observer_subscription, observer, "interop.queue")) ||
      !Ok(check, "flush observer", natsConnection_FlushTimeout(observer, kTimeoutMs))) {
    goto done;
  }

  char payload[16];
  for (int i = 0; i < kQueueMessages; ++i) {
    snprintf(payload, sizeof payload, "%d", i);
    if (!Ok(check, "publish", natsConnection_PublishString(publisher, "interop.queue", payload)))
      goto done;
  }
  if (!Ok(check, "flush publisher", natsConnection_FlushTimeout(publisher, kTimeoutMs))) goto done;

  /* Once each member's connection has round-tripped a PING, everything the server routed to it
   * is queued locally: collect it without waiting. */
  int failures_before = failure_count;
  int deliveries[kQueueMessages] = {0};
  int member_counts[kQueueMembers] = {0};
  for (int m = 0; m < kQueueMembers; ++m) {
    if (!Ok(check, "flush member", natsConnection_FlushTimeout(members[m], kTimeoutMs))) goto done;
    natsMsg *message = NULL;
    while (natsSubscription_NextMsg(&message, member_subscriptions[m], 0) == NATS_OK) {
      int index = -1;
      if (sscanf(natsMsg_GetData(message), "%d", &index) != 1 || index < 0 ||
          index >= kQueueMessages) {
        Fail(check, "member %d got a bad payload '%s'", m, natsMsg_GetData(message));
      } else {
        ++deliveries[index];
        ++member_counts[m];
      }
      natsMsg_Destroy(message);
    }
  }
  int members_used = 0;
  for (int i = 0; i < kQueueMessages; ++i) {
    if (deliveries[i] != 1) Fail(check, "message %d delivered %d times", i, deliveries[i]);
  }
  for (int m = 0; m < kQueueMembers; ++m) members_used += member_counts[m] > 0;
  /* The server picks a member at random per message; 200 messages all to one of 4 would be
   * a broken selection, not bad luck. */
  if (members_used < 2)
    Fail(check, "only %d of %d members received messages", members_used, kQueueMembers);
  for (int i = 0; i < kQueueMessages; ++i) {
    snprintf(payload, sizeof payload, "%d", i);
    if (!ExpectMessage(check, observer_subscription, "interop.queue", payload)) break;
  }
  if (failure_count == failures_before) {
    printf(
        "ok   queue groups: %d messages, each to exactly one of %d members (%d/%d/%d/%d), "
        "all to the plain subscriber\n",
        kQueueMessages, kQueueMembers, member_counts[0], member_counts[1], member_counts[2],
        member_counts[3]);
  }

done:
  for (int m = 0; m < kQueueMembers; ++m) {
    natsSubscription_Destroy(member_subscriptions[m]);
    Disconnect(members[m]);
  }
  natsSubscription_Destroy(observer_subscription);
  Disconnect(observer);
  Disconnect(publisher);
}

/* Request/reply through a responder on another connection; a request nobody listens to fails
 * fast with no-responders (the server sends a 503 status message). */
static void CheckRequestReply(const char *url) {
  const char *check = "request/reply";
  natsConnection *requester = Connect(check, url);
  natsConnection *responder = Connect(check, url);
  natsSubscription *service = NULL;
  if (requester == NULL || responder == NULL ||
      !Ok(check, "subscribe",
          natsConnection_Subscribe(&service, responder, "interop.echo", EchoResponder,
                                   (void *)"libnats")) ||
      !Ok(check, "flush responder", natsConnection_FlushTimeout(responder, kTimeoutMs))) {
    goto done;
  }
  int failures_before = failure_count;
  ExpectEchoes(check, requester, "interop.echo", kRequests, "libnats");

  natsMsg *reply = NULL;
  natsStatus status =
      natsConnection_RequestString(&reply, requester, "interop.nobody.home", "?", kTimeoutMs);
  if (status != NATS_NO_RESPONDERS) {
    Fail(check, "request without responders: got %s, want %s", natsStatus_GetText(status),
         natsStatus_GetText(NATS_NO_RESPONDERS));
  }
  natsMsg_Destroy(reply);
  if (failure_count == failures_before) {
    printf("ok   request/reply: %d requests answered, no-responders reported\n", kRequests);
  }

done:
  natsSubscription_Destroy(service);
  Disconnect(requester);
  Disconnect(responder);
}

/* Headers survive the trip: single and repeated keys, case-insensitive lookup, empty payload. */
static void CheckHeaders(const char *url) {
  const char *check = "headers";
  natsConnection *publisher = Connect(check, url);
  natsConnection *subscriber = Connect(check, url);
  natsSubscription *subscription = NULL;
  natsMsg *sent = NULL;
  natsMsg *received = NULL;
  if (publisher == NULL || subscriber == NULL ||
      !Ok(check, "subscribe",
          natsConnection_SubscribeSync(&subscription, subscriber, "interop.headers")) ||
      !Ok(check, "flush subscriber", natsConnection_FlushTimeout(subscriber, kTimeoutMs))) {
    goto done;
  }
  int failures_before = failure_count;
  for (int variant = 0; variant < 2; ++variant) {
    const char *payload = variant == 0 ? "with headers" : "";
    if (!Ok(check, "create",
            natsMsg_Create(&sent, "interop.headers", NULL, payload, (int)strlen(payload))) ||
        !Ok(check, "set", natsMsgHeader_Set(sent, "X-Single", "one value")) ||
        !Ok(check, "add", natsMsgHeader_Add(sent, "X-Multi", "first")) ||
        !Ok(check, "add", natsMsgHeader_Add(sent, "X-Multi", "second")) ||
        !Ok(check, "publish", natsConnection_PublishMsg(publisher, sent)) ||
        !Ok(check, "receive", natsSubscription_NextMsg(&received, subscription, kTimeoutMs))) {
      goto done;
    }
    const char *single = NULL;
    const char **multi = NULL;
    int multi_count = 0;
    if (natsMsg_GetDataLength(received) != (int)strlen(payload) ||
        memcmp(natsMsg_GetData(received), payload, strlen(payload)) != 0) {
      Fail(check, "payload '%s', want '%s'", natsMsg_GetData(received), payload);
    }
    if (natsMsgHeader_Get(received, "X-Single", &single) != NATS_OK ||
        strcmp(single, "one value") != 0) {
      Fail(check, "X-Single missing or wrong");
    }
    if (natsMsgHeader_Values(received, "X-Multi", &multi, &multi_count) != NATS_OK ||
        multi_count != 2 || strcmp(multi[0], "first") != 0 || strcmp(multi[1], "second") != 0) {
      Fail(check, "X-Multi: got %d value(s), want [first, second]", multi_count);
    }
    free((void *)multi);
    natsMsg_Destroy(sent);
    natsMsg_Destroy(received);
    sent = NULL;
    received = NULL;
  }
  if (failure_count == failures_before)
    printf("ok   headers: set/add/get/values, with and without payload\n");

done:
  natsMsg_Destroy(sent);
  natsMsg_Destroy(received);
  natsSubscription_Destroy(subscription);
  Disconnect(publisher);
  Disconnect(subscriber);
}

/* natsSubscription_AutoUnsubscribe(3) sends "UNSUB <sid> 3": the server itself stops after 3
 * messages, which the subscriber connection's inbound count shows. */
static void CheckAutoUnsubscribe(const char *url) {
  const char *check = "auto-unsubscribe";
  natsConnection *publisher = Connect(check, url);
  natsConnection *subscriber = Connect(check, url);
  natsSubscription *subscription = NULL;
  if (publisher == NULL || subscriber == NULL ||
      !Ok(check, "subscribe",
          natsConnection_SubscribeSync(&subscription, subscriber, "interop.auto")) ||
      !Ok(check, "auto-unsubscribe",
          natsSubscription_AutoUnsubscribe(subscription, kAutoUnsubscribeMax)) ||
      !Ok(check, "flush subscriber", natsConnection_FlushTimeout(subscriber, kTimeoutMs))) {
    goto done;
  }
  for (int i = 0; i < kAutoUnsubscribePublished; ++i) {
    char payload[16];
    snprintf(payload, sizeof payload, "%d", i);
    if (!Ok(check, "publish", natsConnection_PublishString(publisher, "interop.auto", payload)))
      goto done;
  }
  if (!Ok(check, "flush publisher", natsConnection_FlushTimeout(publisher, kTimeoutMs))) goto done;
  int failures_before = failure_count;
  for (int i = 0; i < kAutoUnsubscribeMax; ++i) {
    char payload[16];
    snprintf(payload, sizeof payload, "%d", i);
    if (!ExpectMessage(check, subscription, "interop.auto", payload)) goto done;
  }
  natsMsg *extra = NULL;
  natsStatus status = natsSubscription_NextMsg(&extra, subscription, 0);
  if (status == NATS_OK) {
    Fail(check, "message '%s' after the maximum", natsMsg_GetData(extra));
    natsMsg_Destroy(extra);
  }
  if (natsSubscription_IsValid(subscription)) Fail(check, "subscription still valid");

  uint64_t inbound_messages = InboundMessages(check, subscriber);
  if (inbound_messages != kAutoUnsubscribeMax) {
    Fail(check, "the server sent %llu messages, want %d", (unsigned long long)inbound_messages,
         kAutoUnsubscribeMax);
  }
  if (failure_count == failures_before) {
    printf("ok   auto-unsubscribe: %d of %d published delivered, then the server stopped\n",
           kAutoUnsubscribeMax, kAutoUnsubscribePublished);
  }

done:
  natsSubscription_Destroy(subscription);
  Disconnect(publisher);
  Disconnect(subscriber);
}

/* Payloads far larger than a socket read arrive intact (the parser resumes mid-payload). */
static void CheckLargePayloads(const char *url) {
  const char *check = "large payloads";
  natsConnection *publisher = Connect(check, url);
  natsConnection *subscriber = Connect(check, url);
  natsSubscription *subscription = NULL;
  char *payload = malloc(kLargePayloadBytes);
  if (payload == NULL || publisher == NULL || subscriber == NULL ||
      !Ok(check, "subscribe",
          natsConnection_SubscribeSync(&subscription, subscriber, "interop.large")) ||
      !Ok(check, "flush subscriber", natsConnection_FlushTimeout(subscriber, kTimeoutMs))) {
    goto done;
  }
  int failures_before = failure_count;
  for (int m = 0; m < kLargeMessages; ++m) {
    for (int i = 0; i < kLargePayloadBytes; ++i) payload[i] = (char)('a' + (i + m) % 26);
    if (!Ok(check, "publish",
            natsConnection_Publish(publisher, "interop.large", payload, kLargePayloadBytes))) {
      goto done;
    }
  }
  for (int m = 0; m < kLargeMessages; ++m) {
    natsMsg *message = NULL;
    if (!Ok(check, "receive", natsSubscription_NextMsg(&message, subscription, kTimeoutMs))) {
      goto done;
    }
    for (int i = 0; i < kLargePayloadBytes; ++i) payload[i] = (char)('a' + (i + m) % 26);
    if (natsMsg_GetDataLength(message) != kLargePayloadBytes ||
        memcmp(natsMsg_GetData(message), payload, kLargePayloadBytes) != 0) {
      Fail(check, "message %d: %d bytes, or not the bytes sent", m, natsMsg_GetDataLength(message));
    }
    natsMsg_Destroy(message);
  }
  if (failure_count == failures_before) {
    printf("ok   large payloads: %d messages of %d bytes intact\n", kLargeMessages,
           kLargePayloadBytes);
  }

done:
  free(payload);
  natsSubscription_Destroy(subscription);
  Disconnect(publisher);
  Disconnect(subscriber);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <nats-url>\n", argv[0]);
    return 2;
  }
  const char *url = argv[1];
  if (!OpenLibrary()) return 2;
  CheckPubSub(url);
  CheckQueueGroups(url);
  CheckRequestReply(url);
  CheckHeaders(url);
  CheckAutoUnsubscribe(url);
  CheckLargePayloads(url);
  return FinishChecks("libnats_checks", url, "");
}

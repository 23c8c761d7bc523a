// Interop checks of the NATS JavaScript clients against a NATS server: npm `nats` (nats.js v2)
// over TCP, or npm `nats.ws` (the client browsers use) over WebSocket, chosen by the URL scheme.
// Both run the same checks: publish/subscribe with wildcards, queue groups, request/reply and
// no-responders, headers, auto-unsubscribe (`max`), large payloads, a 1 MiB message.
// The same script runs against nats-server (which proves the checks) and Embed's broker.
//
//   node nats_js_checks.mjs nats://127.0.0.1:4222   (npm nats)
//   node nats_js_checks.mjs ws://127.0.0.1:8080     (npm nats.ws; ws:// or wss://)
//
// Prints one line per check; exits 0 only if every check passes. Waits use flush round trips
// and counts, not sleeps: subscription callbacks run as messages are parsed, so once a flush on
// the subscriber's connection resolved, everything the server sent before its PONG was handled.

const url = process.argv[2];
if (!url) {
  console.error("usage: node nats_js_checks.mjs <nats://host:port | ws://host:port>");
  process.exit(2);
}
const overWebSocket = /^wss?:\/\//.test(url);
const library = overWebSocket ? "nats.ws" : "nats";

let nats;
try {
  if (overWebSocket) {
    // Node has no global WebSocket here: the `ws` package provides it to nats.ws.
    globalThis.WebSocket = (await import("ws")).WebSocket;
    nats = await import("nats.ws");
  } else {
    nats = await import("nats");
  }
} catch (error) {
  const packages = overWebSocket ? '"nats.ws" or "ws"' : '"nats"';
  console.error(`npm package ${packages} is missing (${error.message}): run scripts/deps, ` +
                "which runs `npm ci` in tests/interop/js");
  process.exit(2);
}
const { connect, ErrorCode, headers, StringCodec } = nats;

const TIMEOUT_MS = 5000;
const codec = StringCodec();
const failures = [];

function fail(check, message) {
  failures.push(`${check}: ${message}`);
  console.error(`FAIL ${check}: ${message}`);
}

function expectEqual(check, what, actual, expected) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(check, `${what}: got ${a.slice(0, 300)}, want ${e.slice(0, 300)}`);
  return a === e;
}

async function withConnections(url, count, body) {
  const connections = [];
  try {
    for (let i = 0; i < count; ++i) {
      connections.push(await connect({ servers: url, timeout: TIMEOUT_MS, reconnect: false }));
    }
    await body(...connections);
  } finally {
    await Promise.all(connections.map((connection) => connection.close()));
  }
}

// Subscribes with a callback that appends [subject, payload] to the returned array.
function collect(connection, subject, options = {}) {
  const received = [];
  const subscription = connection.subscribe(subject, {
    ...options,
    callback: (error, message) => {
      if (error) received.push(["error", String(error)]);
      else received.push([message.subject, codec.decode(message.data)]);
    },
  });
  return { subscription, received };
}

async function checkPubSub(url) {
  const check = "pubsub";
  await withConnections(url, 2, async (publisher, subscriber) => {
    const exact = collect(subscriber, "interop.pubsub");
    const singleToken = collect(subscriber, "interop.wild.*");
    const tail = collect(subscriber, "interop.tail.>");
    await subscriber.flush();

    const expected = [];
    for (let i = 0; i < 100; ++i) {
      publisher.publish("interop.pubsub", codec.encode(`message-${i}`));
      expected.push(["interop.pubsub", `message-${i}`]);
    }
    // "interop.wild.a.b" must not match "interop.wild.*"; "interop.tail" must not match ">".
    publisher.publish("interop.wild.a.b", codec.encode("no"));
    publisher.publish("interop.wild.a", codec.encode("one"));
    publisher.publish("interop.tail", codec.encode("no"));
    publisher.publish("interop.tail.a.b", codec.encode("many"));
    await publisher.flush();
    await subscriber.flush();
    let ok = expectEqual(check, "exact subject", exact.received, expected);
    ok = expectEqual(check, "'*'", singleToken.received, [["interop.wild.a", "one"]]) && ok;
    ok = expectEqual(check, "'>'", tail.received, [["interop.tail.a.b", "many"]]) && ok;

    // After an unsubscribe, the server sends nothing more for that subscription.
    exact.subscription.unsubscribe();
    await subscriber.flush();
    const inboundBefore = subscriber.stats().inMsgs;
    publisher.publish("interop.pubsub", codec.encode("late"));
    await publisher.flush();
    await subscriber.flush();
    ok = expectEqual(check, "messages the server sent after unsubscribe",
                     subscriber.stats().inMsgs - inboundBefore, 0) && ok;
    ok = expectEqual(check, "messages delivered after unsubscribe", exact.received.length,
                     expected.length) && ok;
    if (ok) console.log("ok   pubsub: 100 messages in order, wildcards, unsubscribe");
  });
}

async function checkQueueGroups(url) {
  const check = "queue groups";
  const memberCount = 4;
  const messageCount = 200;
  await withConnections(url, memberCount + 2, async (publisher, observer, ...members) => {
    const memberSubscriptions = members.map((member) =>
      collect(member, "interop.queue", { queue: "workers" }));
    const plain = collect(observer, "interop.queue");
    await Promise.all([...members, observer].map((connection) => connection.flush()));

    for (let i = 0; i < messageCount; ++i) {
      publisher.publish("interop.queue", codec.encode(String(i)));
    }
    await publisher.flush();
    await Promise.all([...members, observer].map((connection) => connection.flush()));

    const failuresBefore = failures.length;
    const deliveries = new Array(messageCount).fill(0);
    for (const { received } of memberSubscriptions) {
      for (const [, payload] of received) deliveries[Number(payload)] += 1;
    }
    deliveries.forEach((count, i) => {
      if (count !== 1) fail(check, `message ${i} delivered ${count} times`);
    });
    const counts = memberSubscriptions.map(({ received }) => received.length);
    // Members are picked at random per message; all 200 to one member is a broken selection.
    if (counts.filter((count) => count > 0).length < 2) {
      fail(check, `only one member received messages: ${counts}`);
    }
    expectEqual(check, "plain subscriber", plain.received.length, messageCount);
    if (failures.length === failuresBefore) {
      console.log(`ok   queue groups: ${messageCount} messages, each to exactly one of ` +
                  `${memberCount} members (${counts.join("/")}), all to the plain subscriber`);
    }
  });
}

async function checkRequestReply(url) {
  const check = "request/reply";
  await withConnections(url, 2, async (requester, responder) => {
    responder.subscribe("interop.echo", {
      callback: (error, message) => {
        if (error) return;
        const replyHeaders = headers();
        replyHeaders.set("X-Replied-By", library);
        message.respond(codec.encode(`echo:${codec.decode(message.data)}`),
                        { headers: replyHeaders });
      },
    });
    await responder.flush();

    const failuresBefore = failures.length;
    for (let i = 0; i < 20; ++i) {
      const reply = await requester.request("interop.echo", codec.encode(`request-${i}`),
                                            { timeout: TIMEOUT_MS });
      if (!expectEqual(check, "reply", codec.decode(reply.data), `echo:request-${i}`) ||
          !expectEqual(check, "X-Replied-By", reply.headers?.get("X-Replied-By"), library)) {
        break;
      }
    }
    try {
      await requester.request("interop.nobody.home", codec.encode("?"), { timeout: TIMEOUT_MS });
      fail(check, "a request without responders was answered");
    } catch (error) {
      expectEqual(check, "request without responders", error.code, ErrorCode.NoResponders);
    }
    if (failures.length === failuresBefore) {
      console.log("ok   request/reply: 20 requests answered, no-responders reported");
    }
  });
}

async function checkHeaders(url) {
  const check = "headers";
  await withConnections(url, 2, async (publisher, subscriber) => {
    const received = [];
    subscriber.subscribe("interop.headers", { callback: (_, message) => received.push(message) });
    await subscriber.flush();
    for (const payload of ["with headers", ""]) {
      const sent = headers();
      sent.set("X-Single", "one value");
      sent.append("X-Multi", "first");
      sent.append("X-Multi", "second");
      publisher.publish("interop.headers", codec.encode(payload), { headers: sent });
    }
    await publisher.flush();
    await subscriber.flush();

    const failuresBefore = failures.length;
    if (expectEqual(check, "messages", received.length, 2)) {
      ["with headers", ""].forEach((payload, i) => {
        const message = received[i];
        expectEqual(check, "payload", codec.decode(message.data), payload);
        expectEqual(check, "X-Single", message.headers?.get("X-Single"), "one value");
        expectEqual(check, "X-Multi", message.headers?.values("X-Multi"), ["first", "second"]);
      });
    }
    if (failures.length === failuresBefore) {
      console.log("ok   headers: set/append/get/values, with and without payload");
    }
  });
}

async function checkAutoUnsubscribe(url) {
  const check = "auto-unsubscribe";
  await withConnections(url, 2, async (publisher, subscriber) => {
    // `max` sends "UNSUB <sid> 3" right after the SUB: the server stops after 3 messages.
    const { subscription, received } = collect(subscriber, "interop.auto", { max: 3 });
    await subscriber.flush();
    const inboundBefore = subscriber.stats().inMsgs;
    for (let i = 0; i < 10; ++i) publisher.publish("interop.auto", codec.encode(String(i)));
    await publisher.flush();
    await subscriber.flush();

    let ok = expectEqual(check, "delivered", received, [
      ["interop.auto", "0"], ["interop.auto", "1"], ["interop.auto", "2"]]);
    ok = expectEqual(check, "subscription closed", subscription.isClosed(), true) && ok;
    ok = expectEqual(check, "messages the server sent",
                     subscriber.stats().inMsgs - inboundBefore, 3) && ok;
    if (ok) {
      console.log("ok   auto-unsubscribe: 3 of 10 published delivered, then the server stopped");
    }
  });
}

async function checkLargePayloads(url) {
  const check = "large payloads";
  const size = 512 * 1024;
  const pattern = (m) => Uint8Array.from({ length: size }, (_, i) => 97 + ((i + m) % 26));
  await withConnections(url, 2, async (publisher, subscriber) => {
    const received = [];
    subscriber.subscribe("interop.large", { callback: (_, message) => received.push(message) });
    await subscriber.flush();
    for (let m = 0; m < 3; ++m) publisher.publish("interop.large", pattern(m));
    await publisher.flush();
    await subscriber.flush();

    const failuresBefore = failures.length;
    if (expectEqual(check, "messages", received.length, 3)) {
      received.forEach((message, m) => {
        if (Buffer.compare(Buffer.from(message.data), Buffer.from(pattern(m))) !== 0) {
          fail(check, `message ${m}: ${message.data.length} bytes, or not the bytes sent`);
        }
      });
    }
    if (failures.length === failuresBefore) {
      console.log(`ok   large payloads: 3 messages of ${size} bytes intact`);
    }
  });
}

async function checkLargeMessage(url) {
  const check = "1 MiB message";
  await withConnections(url, 2, async (publisher, subscriber) => {
    // The server's max_payload bounds the message; both servers default to 1 MiB.
    const size = Math.min(1024 * 1024, publisher.info.max_payload);
    if (size < 1024 * 1024) fail(check, `max_payload is only ${publisher.info.max_payload}`);
    const data = Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff);
    const received = [];
    subscriber.subscribe("interop.mebibyte",
                         { callback: (_, message) => received.push(message) });
    await subscriber.flush();
    publisher.publish("interop.mebibyte", data);
    await publisher.flush();
    await subscriber.flush();

    const failuresBefore = failures.length;
    if (expectEqual(check, "messages", received.length, 1) &&
        Buffer.compare(Buffer.from(received[0].data), Buffer.from(data)) !== 0) {
      fail(check, `received ${received[0].data.length} bytes, or not the bytes sent`);
    }
    if (failures.length === failuresBefore) console.log(`ok   large message: ${size} bytes intact`);
  });
}

async function main() {
  const checks = [checkPubSub, checkQueueGroups, checkRequestReply, checkHeaders,
                  checkAutoUnsubscribe, checkLargePayloads, checkLargeMessage];
  for (const check of checks) {
    try {
      await check(url);
    } catch (error) {
      fail(check.name, `threw ${error?.stack ?? error}`);
    }
  }
  if (failures.length > 0) {
    console.error(`nats_js_checks (${library}): ${failures.length} check(s) failed against ${url}`);
    process.exit(1);
  }
  console.log(`nats_js_checks (${library}): all checks passed against ${url}`);
}

await main();

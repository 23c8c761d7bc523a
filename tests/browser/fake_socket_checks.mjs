// Checks of Embed's browser client against scripted WebSocket servers, in node: the module's
// connection logic (server fail-over, connect timeout, text frames, hostile server input,
// reconnect with resubscribe and the reconnect buffer, close while reconnecting, send
// back-pressure, completions produced inside a call) without a browser. globalThis.WebSocket is a
// fake whose "server" is a few lines of NATS in this file.
//
//   node fake_socket_checks.mjs --module-dir <dir with embed_client.mjs + embed_browser_core.mjs>
//
// Prints one line per check; exits 0 only if every check passes.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const moduleDirIndex = process.argv.indexOf('--module-dir');
if (moduleDirIndex < 0 || !process.argv[moduleDirIndex + 1]) {
  console.error('usage: node fake_socket_checks.mjs --module-dir <dir>');
  process.exit(2);
}
const moduleDir = path.resolve(process.argv[moduleDirIndex + 1]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INFO = 'INFO {"server_id":"fake","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576}\r\n';
let failures = 0;

function check(condition, what) {
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
  if (!condition) failures++;
  return condition;
}

const later = (fn, ms = 1) => setTimeout(fn, ms);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(predicate, what, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// How the fake server behind each URL acts: 'accept' (a tiny NATS server), 'refuse' (error +
// close), 'silent' (never opens). textFrames: it sends text frames instead of binary ones.
const behaviours = new Map();
const sockets = [];

class FakeWebSocket {
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sentText = '';
    this.input = '';
    this.subs = new Map();  // subject -> sid
    this.published = [];    // [subject, payload] of every PUB the server read
    this.sendCalls = 0;
    // Test knobs: stalled (bufferedAmount reports 16 MiB, as a socket that does not drain),
    // throwOnSend (send() throws, as a browser's does in the CONNECTING state).
    this.stalled = false;
    this.throwOnSend = false;
    this.behaviour = behaviours.get(url) || { mode: 'refuse' };
    sockets.push(this);
    if (this.behaviour.mode === 'refuse') {
      later(() => this.serverClose(1006));
    } else if (this.behaviour.mode === 'accept') {
      later(() => {
        if (this.readyState !== 0) return;
        this.readyState = 1;
        this.onopen?.({});
        this.deliver(INFO);
      });
    }
  }

  // Server -> client, as a browser does: later, never inside send().
  deliver(text) {
    later(() => {
      if (this.readyState !== 1) return;
      this.onmessage?.({ data: this.behaviour.textFrames ? text : encoder.encode(text).buffer });
    });
  }

  serverClose(code = 1006) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    if (code !== 1000) this.onerror?.({});
    this.onclose?.({ code, reason: '', wasClean: code === 1000 });
  }

  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 2;
    later(() => this.serverClose(code));
  }

  get bufferedAmount() { return this.stalled ? 16 * 1024 * 1024 : 0; }

  // Client -> server: the data is a view of wasm memory, read at once.
  send(data) {
    this.sendCalls++;
    if (this.throwOnSend) throw new Error('InvalidStateError: send() in a bad state');
    const text = typeof data === 'string' ? data : decoder.decode(data);
    this.sentText += text;
    this.input += text;
    this.serve();
  }

  // A minimal NATS server: PING, SUB, PUB (exact subjects, echoed to subscribers).
  serve() {
    for (;;) {
      const end = this.input.indexOf('\r\n');
      if (end < 0) return;
      const line = this.input.slice(0, end);
      const [op, ...args] = line.split(' ');
      if (op === 'PUB') {
        const size = Number(args[args.length - 1]);
        if (this.input.length < end + 2 + size + 2) return;
        const payload = this.input.slice(end + 2, end + 2 + size);
        this.input = this.input.slice(end + 2 + size + 2);
        this.published.push([args[0], payload]);
        const sid = this.subs.get(args[0]);
        const reply = args.length === 3 ? ` ${args[1]}` : '';
        if (sid !== undefined) this.deliver(`MSG ${args[0]} ${sid}${reply} ${size}\r\n${payload}\r\n`);
        continue;
      }
      this.input = this.input.slice(end + 2);
      if (op === 'PING') this.deliver('PONG\r\n');
      if (op === 'SUB') this.subs.set(args[0], args[args.length - 1]);
    }
  }
}
globalThis.WebSocket = FakeWebSocket;

const { connect } = await import(pathToFileURL(path.join(moduleDir, 'embed_client.mjs')).href);

async function codeOf(promise) {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return error.code;
  }
}

async function checkFailOverAndTextFrames() {
  behaviours.set('ws://refused:1', { mode: 'refuse' });
  behaviours.set('ws://text:1', { mode: 'accept', textFrames: true });
  const first = sockets.length;
  const nc = await connect({ servers: ['ws://refused:1', 'ws://text:1'] });
  check(sockets.length - first === 2 && sockets[first + 1].url === 'ws://text:1',
        'first connect moves on to the next server');
  check(sockets[first].protocols === undefined, 'no subprotocol requested');
  const got = [];
  nc.subscribe('echo', (m) => got.push(m.string()));
  nc.publish('echo', 'text frames');
  await nc.flush();
  await until(() => got.length === 1, 'echo');
  check(got[0] === 'text frames', 'text frames from the server are read like binary ones');
  await nc.close();
}

async function checkFirstConnectFailures() {
  behaviours.set('ws://silent:1', { mode: 'silent' });
  const started = Date.now();
  const code = await codeOf(connect({ servers: ['ws://silent:1'], timeoutMs: 100 }));
  check(code === 'TIMEOUT' && Date.now() - started < 2000, `connect timeout (got ${code})`);
  check(await codeOf(connect({ servers: ['ws://refused:1', 'ws://refused:1'] })) === 'UNAVAILABLE',
        'connect fails when every server refuses');
  check(await codeOf(connect({ servers: ['http://x:1'] })) === 'INVALID_ARGUMENT',
        'a non-WebSocket URL is rejected');
}

// Resolves with the promise's outcome, or 'never settled' after `ms`.
function settledWithin(promise, ms = 1000) {
  return Promise.race([codeOf(promise), sleep(ms).then(() => 'never settled')]);
}

// embed_client.mjs reads from the module object only what CMakeLists.txt exports: functions
// through EXPORTED_FUNCTIONS, everything else (HEAPU8, ...) through EXPORTED_RUNTIME_METHODS
// (emscripten may drop what is not listed).
function checkModuleExports() {
  const sourceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const cmake = fs.readFileSync(path.join(sourceDir, 'embed/client/browser/CMakeLists.txt'), 'utf8');
  const facade = fs.readFileSync(path.join(moduleDir, 'embed_client.mjs'), 'utf8');
  const listed = (setting) => {
    const match = cmake.match(new RegExp(`-s${setting}=\\[([^\\]]*)\\]`));
    if (!match) return new Set();
    const names = [];
    for (const item of match[1].split(',')) {
      const variable = item.trim().match(/^\$\{(\w+)\}$/);
      if (!variable) {
        names.push(item.trim());
        continue;
      }
      const set = cmake.match(new RegExp(`set\\(${variable[1]}\\s+([^)]*)\\)`));
      if (set) names.push(...set[1].split(/\s+/).filter(Boolean));
    }
    return new Set(names);
  };
  const functions = listed('EXPORTED_FUNCTIONS');
  const runtime = listed('EXPORTED_RUNTIME_METHODS');
  const used = new Set();
  for (const match of facade.matchAll(/\b(?:m|module|this\.module)\.([A-Za-z_$][\w$]*)/g)) {
    used.add(match[1]);
  }
  used.delete('embedClients');  // set by embed_client.mjs itself
  const missing = [...used].filter((name) => !(name.startsWith('_') ? functions : runtime).has(name));
  check(used.has('HEAPU8') && missing.length === 0,
        `every module member embed_client.mjs uses is exported (missing: ${missing.join(', ') || 'none'})`);
}

// While the WebSocket holds more than 8 MiB unsent, output stays in the core (nothing is
// handed to send()); publishes fail with RESOURCE_EXHAUSTED once the core holds more than
// 8 MiB; when the socket drains, everything accepted goes out, in order.
async function checkSendBackPressure() {
  behaviours.set('ws://slow:1', { mode: 'accept' });
  const nc = await connect({ servers: ['ws://slow:1'] });
  await nc.flush();
  const socket = sockets[sockets.length - 1];
  socket.stalled = true;
  const callsBefore = socket.sendCalls;
  const chunk = 'x'.repeat(256 * 1024);
  let accepted = 0;
  let refusal = 'none';
  for (let i = 0; i < 100; i++) {
    try {
      nc.publish('bulk', `${String(i).padStart(4, '0')}${chunk}`);
      accepted++;
    } catch (error) {
      refusal = error.code;
      break;
    }
  }
  check(socket.sendCalls === callsBefore, `nothing is sent while bufferedAmount is above the cap (${socket.sendCalls - callsBefore} sends)`);
  const acceptedBytes = accepted * (chunk.length + 4);
  check(refusal === 'RESOURCE_EXHAUSTED' && acceptedBytes > 8 * 1024 * 1024 &&
        acceptedBytes < 9 * 1024 * 1024,
        `publish fails with RESOURCE_EXHAUSTED once the core holds over 8 MiB (${refusal} after ${accepted})`);
  const flushed = nc.flush(5000);
  await sleep(50);
  check(socket.published.length === 0, 'still nothing sent while stalled (retries wait)');
  socket.stalled = false;
  const flushCode = await codeOf(flushed);
  const order = socket.published.map(([, payload]) => Number(payload.slice(0, 4)));
  check(flushCode === 'no error' && order.length === accepted && order.every((n, i) => n === i),
        `once the socket drains every accepted publish arrives, in order (${order.length}/${accepted}, flush ${flushCode})`);
  nc.publish('bulk', 'after');
  await nc.flush();
  check(socket.published.at(-1)?.[1] === 'after', 'publishing works again after the back-pressure');
  await nc.close();
}

// unsubscribe(max) with max at or below the messages already delivered ends the subscription.
async function checkUnsubscribeBelowDelivered() {
  behaviours.set('ws://unsub:1', { mode: 'accept' });
  const nc = await connect({ servers: ['ws://unsub:1'] });
  const got = [];
  const sub = nc.subscribe('u', (m) => got.push(m.string()));
  for (const text of ['1', '2', '3']) nc.publish('u', text);
  await nc.flush();
  await until(() => got.length === 3, 'three messages');
  sub.unsubscribe(2);
  let closed = true;
  try {
    await until(() => sub.closed, 'subscription closed', 500);
  } catch {
    closed = false;
  }
  const socket = sockets[sockets.length - 1];
  check(closed && !nc.subscriptions.has(sub.sid) && /UNSUB 1\r\n/.test(socket.sentText),
        'unsubscribe(max) with max <= delivered closes the subscription (no leak)');
  await nc.close();
}

// A completion produced inside the call that starts it (send throws -> disconnect -> the flush
// fails at once) still settles the promise.
async function checkCompletionsInsideTheCall() {
  behaviours.set('ws://throws:1', { mode: 'accept' });
  const states = [];
  const nc = await connect({ servers: ['ws://throws:1'], reconnectTimeWaitMs: 20, reconnectJitterMs: 0,
                             maxReconnectAttempts: -1, onState: (s) => states.push(s) });
  sockets[sockets.length - 1].throwOnSend = true;
  const flushCode = await settledWithin(nc.flush(5000));
  check(flushCode === 'UNAVAILABLE', `a flush failed inside flush() rejects (${flushCode})`);
  await until(() => states.includes('reconnected'), 'reconnected after the failed send');
  check(states.indexOf('disconnected') >= 0, 'a failed send reports disconnected');
  await nc.close();

  const once = await connect({ servers: ['ws://throws:1'], reconnect: false });
  sockets[sockets.length - 1].throwOnSend = true;
  const requestCode = await settledWithin(once.request('svc', 'x', { timeoutMs: 5000 }));
  check(requestCode === 'CANCELLED' && once.state === 'closed',
        `a request ended inside request() rejects (${requestCode})`);
}

async function checkHostileInputAndReconnect() {
  behaviours.set('ws://ok:1', { mode: 'accept' });
  const states = [];
  const nc = await connect({ servers: ['ws://ok:1'], reconnectTimeWaitMs: 20, reconnectJitterMs: 0,
                             maxReconnectAttempts: -1, onState: (s) => states.push(s) });
  const got = [];
  nc.subscribe('keep', (m) => got.push(m.string()));
  await nc.flush();

  // A line that is not NATS: protocol error, reconnect, resubscribe.
  let socket = sockets[sockets.length - 1];
  behaviours.set('ws://ok:1', { mode: 'refuse' });
  socket.deliver('GARBAGE that is no operation\r\n');
  await until(() => states.includes('reconnecting'), 'reconnecting');
  check(socket.readyState >= 2, 'a protocol error drops the WebSocket');
  check(states.indexOf('disconnected') >= 0 && states.indexOf('disconnected') < states.indexOf('reconnecting'),
        `a protocol error reports disconnected before reconnecting (${states.join(',')})`);
  nc.publish('keep', 'buffered while disconnected');
  behaviours.set('ws://ok:1', { mode: 'accept' });
  await until(() => states.includes('reconnected'), 'reconnected');
  await until(() => got.length === 1, 'buffered message');
  socket = sockets[sockets.length - 1];
  check(got[0] === 'buffered while disconnected' && /SUB keep /.test(socket.sentText),
        'after a protocol error: reconnected, resubscribed, buffered publish delivered');

  // An endless control line (no CRLF) is bounded: the connection is dropped, not grown.
  states.length = 0;
  socket.deliver(`MSG ${'x'.repeat(2 * 1024 * 1024)}`);
  await until(() => states.includes('reconnected'), 'reconnected after an endless line');
  check(true, 'an endless control line drops the connection; it reconnects');

  // A server -ERR that keeps the connection is reported, not fatal.
  const errors = [];
  nc.options.onError = (error) => errors.push(error);
  sockets[sockets.length - 1].deliver("-ERR 'Permissions Violation for Subscription to \"secret\"'\r\n");
  await until(() => errors.length === 1, 'async error');
  check(nc.state === 'reconnected' && errors[0].code === 'PERMISSION_DENIED',
        `a permissions -ERR is reported asynchronously (${errors[0]?.code})`);

  // A fatal -ERR (the core ends the connection itself) is a disconnect too.
  states.length = 0;
  sockets[sockets.length - 1].deliver("-ERR 'Stale Connection'\r\n");
  await until(() => states.includes('reconnected'), 'reconnected after a stale -ERR');
  check(states[0] === 'disconnected' && states.includes('reconnecting'),
        `a stale-connection -ERR reports disconnected, then reconnects (${states.join(',')})`);
  await nc.close();
}

async function checkCloseWhileReconnecting() {
  behaviours.set('ws://flaky:1', { mode: 'accept' });
  const states = [];
  const nc = await connect({ servers: ['ws://flaky:1'], reconnectTimeWaitMs: 20, reconnectJitterMs: 0,
                             maxReconnectAttempts: -1, onState: (s) => states.push(s) });
  behaviours.set('ws://flaky:1', { mode: 'refuse' });
  sockets[sockets.length - 1].serverClose(1006);
  await until(() => states.includes('reconnecting'), 'reconnecting');
  const pending = codeOf(nc.request('svc', 'x', { timeoutMs: 10000 }));
  const flushCode = await codeOf(nc.flush());
  await nc.close();
  check(await pending === 'CANCELLED' && flushCode === 'UNAVAILABLE' && states.at(-1) === 'closed',
        'close while reconnecting: pending request cancelled, flush unavailable, closed');
  const socketsAfterClose = sockets.length;
  await sleep(100);
  check(sockets.length === socketsAfterClose, 'no reconnect attempt after close');

  // Reconnect attempts are bounded when asked.
  behaviours.set('ws://once:1', { mode: 'accept' });
  const bounded = [];
  const limited = await connect({ servers: ['ws://once:1'], reconnectTimeWaitMs: 10, reconnectJitterMs: 0,
                                  maxReconnectAttempts: 2, onState: (s) => bounded.push(s) });
  behaviours.set('ws://once:1', { mode: 'refuse' });
  sockets[sockets.length - 1].serverClose(1006);
  const reason = await limited.closed();
  check(bounded.at(-1) === 'closed' && reason?.code === 'UNAVAILABLE',
        `gives up after maxReconnectAttempts (${reason})`);
}

const watchdog = setTimeout(() => {
  console.error('fake_socket_checks: watchdog fired');
  process.exit(1);
}, 30000);
for (const run of [checkModuleExports, checkFailOverAndTextFrames, checkFirstConnectFailures,
  checkHostileInputAndReconnect, checkCloseWhileReconnecting, checkSendBackPressure,
  checkUnsubscribeBelowDelivered, checkCompletionsInsideTheCall]) {
  try {
    await run();
  } catch (error) {
    check(false, `${run.name} threw ${error?.stack ?? error}`);
  }
}
clearTimeout(watchdog);
if (failures > 0) {
  console.error(`fake_socket_checks: ${failures} check(s) failed`);
  process.exit(1);
}
console.log('fake_socket_checks: all checks passed');

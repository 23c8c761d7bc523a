// embed_client.mjs: the JavaScript face of Embed's browser client. It wraps
// the wasm module embed_browser_core.mjs (the portable C++ client core driven
// by the browser's WebSocket) in a small promise-based API:
//
//   import { connect } from './embed_client.mjs';
//   const nc = await connect({ servers: ['ws://127.0.0.1:8080'], name: 'page',
//                              onState: (state, detail) => console.log(state, detail) });
//   const sub = nc.subscribe('orders.*', (msg) => console.log(msg.subject, msg.string()));
//   nc.publish('orders.new', 'hello', { headers: { 'X-Id': '1' } });
//   const reply = await nc.request('service', 'ping', { timeoutMs: 2000 });
//   await nc.flush();
//   sub.unsubscribe();
//   nc.close();
//
// States passed to onState: 'connected', 'disconnected', 'reconnecting',
// 'reconnected', 'closed'. Callbacks (messages, states, errors) run as
// microtasks, never inside a call into the wasm module.

import createEmbedBrowserCore from './embed_browser_core.mjs';

const STATE_NAMES = { 1: 'connected', 2: 'disconnected', 3: 'reconnecting', 4: 'reconnected', 5: 'closed' };
// embed::StatusCode, by number.
const CODE_NAMES = ['OK', 'INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'CANCELLED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'PROTOCOL_ERROR',
  'TIMEOUT', 'UNAVAILABLE', 'IO_ERROR', 'DATA_LOSS', 'INTERNAL'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let modulePromise = null;
function loadModule() {
  if (!modulePromise) {
    modulePromise = createEmbedBrowserCore().then((module) => {
      module.embedClients = new Map();
      return module;
    });
  }
  return modulePromise;
}

// An Error with `code` (e.g. 'TIMEOUT', 'UNAVAILABLE' for no responders).
export class EmbedError extends Error {
  constructor(code, message) {
    const name = CODE_NAMES[code] || `CODE_${code}`;
    super(message ? `${name}: ${message}` : name);
    this.name = 'EmbedError';
    this.code = name;
  }
}

// Message headers: keys may repeat; `status`/`description` carry a status
// line (503 = no responders).
export class MsgHeaders {
  constructor(pairs = [], status = 0, description = '') {
    this.pairs = pairs;
    this.status = status;
    this.description = description;
  }
  get(key) {
    const hit = this.pairs.find(([k]) => k === key);
    return hit ? hit[1] : undefined;
  }
  values(key) { return this.pairs.filter(([k]) => k === key).map(([, v]) => v); }
  has(key) { return this.pairs.some(([k]) => k === key); }
  entries() { return this.pairs.slice(); }
}

function toBytes(data) {
  if (data === undefined || data === null) return new Uint8Array(0);
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('data must be a string, Uint8Array or ArrayBuffer');
}

// Headers given by the user: a MsgHeaders, a Map, an array of [key, value]
// pairs, or an object whose values are strings or arrays of strings.
// Returns the "key\nvalue\n..." form the wasm module reads, or null.
function flattenHeaders(headers) {
  if (headers === undefined || headers === null) return null;
  let pairs;
  if (headers instanceof MsgHeaders) pairs = headers.entries();
  else if (headers instanceof Map) pairs = [...headers.entries()];
  else if (Array.isArray(headers)) pairs = headers;
  else pairs = Object.entries(headers);
  let out = '';
  for (const [key, value] of pairs) {
    for (const one of Array.isArray(value) ? value : [value]) {
      out += `${key}\n${String(one).replace(/[\r\n]/g, ' ')}\n`;
    }
  }
  return out;
}

function parseHeaders(hasHeaders, status, description, flat) {
  if (!hasHeaders) return undefined;
  const parts = flat.split('\n');
  const pairs = [];
  for (let i = 0; i + 1 < parts.length; i += 2) pairs.push([parts[i], parts[i + 1]]);
  return new MsgHeaders(pairs, status, description);
}

class Msg {
  constructor(connection, subject, reply, headers, data) {
    this.subject = subject;
    this.reply = reply;
    this.headers = headers;
    this.data = data;
    this.connection = connection;
  }
  string() { return decoder.decode(this.data); }
  json() { return JSON.parse(this.string()); }
  // Publishes to the reply subject; false when there is none.
  respond(data, options = {}) {
    if (!this.reply) return false;
    this.connection.publish(this.reply, data, options);
    return true;
  }
}

class Subscription {
  constructor(connection, sid, subject, callback) {
    this.connection = connection;
    this.sid = sid;
    this.subject = subject;
    this.callback = callback;
    this.received = 0;
    this.closed = false;
  }
  // max > 0: ends after that many messages in total.
  unsubscribe(max = 0) {
    if (this.closed) return;
    this.connection.unsubscribe(this, max);
  }
}

class Connection {
  constructor(module, options) {
    this.module = module;
    this.options = options;
    this.subscriptions = new Map();
    this.requests = new Map();
    this.flushes = new Map();
    // While a call that starts a request or flush runs: completions for ids not
    // registered yet (the call may end them synchronously, e.g. a failed send
    // disconnects and fails the flush), kept until the call returns its id.
    this.early = null;
    this.state = 'connecting';
    this.closedPromise = new Promise((resolve) => { this.resolveClosed = resolve; });
    this.connectedPromise = new Promise((resolve, reject) => {
      this.resolveConnected = resolve;
      this.rejectConnected = reject;
    });
  }

  // Calls `fn(pointer, length)` with `bytes` copied into wasm memory.
  withBytes(bytes, fn) {
    const m = this.module;
    const pointer = m._malloc(Math.max(bytes.length, 1));
    try {
      m.HEAPU8.set(bytes, pointer);
      return fn(pointer, bytes.length);
    } finally {
      m._free(pointer);
    }
  }

  // Calls `fn(...pointers)` with the strings copied into wasm memory.
  withStrings(strings, fn) {
    const m = this.module;
    const pointers = strings.map((s) => {
      const size = m.lengthBytesUTF8(s) + 1;
      const pointer = m._malloc(size);
      m.stringToUTF8(s, pointer, size);
      return pointer;
    });
    try {
      return fn(...pointers);
    } finally {
      for (const pointer of pointers) m._free(pointer);
    }
  }

  // The error of the last failed call into the module.
  lastError() {
    const m = this.module;
    return new EmbedError(m._embed_browser_last_code(this.handle),
                          m.UTF8ToString(m._embed_browser_last_error(this.handle)));
  }

  checkOpen() {
    if (this.handle === 0) throw new EmbedError(2, 'connection is closed');
  }

  publish(subject, data, options = {}) {
    this.checkOpen();
    const flat = flattenHeaders(options.headers);
    const bytes = toBytes(data);
    const code = this.withStrings([subject, options.reply || '', flat || ''], (s, r, h) =>
      this.withBytes(bytes, (p, n) =>
        this.module._embed_browser_publish(this.handle, s, r, flat === null ? 0 : 1, h, p, n)));
    if (code !== 0) throw this.lastError();
  }

  subscribe(subject, callback, options = {}) {
    this.checkOpen();
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    const sid = this.withStrings([subject, options.queue || ''], (s, q) =>
      this.module._embed_browser_subscribe(this.handle, s, q));
    if (sid === 0) throw this.lastError();
    const subscription = new Subscription(this, sid, subject, callback);
    this.subscriptions.set(sid, subscription);
    if (options.max) subscription.unsubscribe(options.max);
    return subscription;
  }

  unsubscribe(subscription, max) {
    if (this.handle === 0) {
      subscription.closed = true;
      return;
    }
    const code = this.module._embed_browser_unsubscribe(this.handle, subscription.sid, max);
    if (max === 0 || code !== 0) {
      subscription.closed = true;
      this.subscriptions.delete(subscription.sid);
    }
  }

  request(subject, data, options = {}) {
    this.checkOpen();
    const timeoutMs = options.timeoutMs ?? 2000;
    const flat = flattenHeaders(options.headers);
    const bytes = toBytes(data);
    return this.startPending(this.requests, () => this.withStrings([subject, flat || ''], (s, h) =>
      this.withBytes(bytes, (p, n) =>
        this.module._embed_browser_request(this.handle, s, flat === null ? 0 : 1, h, p, n, timeoutMs))));
  }

  flush(timeoutMs = 5000) {
    this.checkOpen();
    return this.startPending(this.flushes, () => this.module._embed_browser_flush(this.handle, timeoutMs));
  }

  // Runs `start` (a call into the module returning a request or flush id, 0
  // on error) and returns a promise for its completion, which may already
  // have happened during the call.
  startPending(table, start) {
    const early = new Map();
    this.early = early;
    let id;
    try {
      id = start();
    } finally {
      this.early = null;
    }
    if (id === 0) return Promise.reject(this.lastError());
    return new Promise((resolve, reject) => {
      const settle = early.get(id);
      if (settle) settle({ resolve, reject });
      else table.set(id, { resolve, reject });
    });
  }

  // The pending entry for `id`, or (during a start call) a stand-in that
  // settles the promise created when the call returns.
  takePending(table, id) {
    const pending = table.get(id);
    if (pending) {
      table.delete(id);
      return pending;
    }
    if (!this.early) return null;
    const early = this.early;
    let outcome = null;
    early.set(id, (target) => outcome(target));
    return {
      resolve: (value) => { outcome = (target) => target.resolve(value); },
      reject: (error) => { outcome = (target) => target.reject(error); },
    };
  }

  // The server's max_payload (0 before the first connect).
  get maxPayload() {
    return this.handle === 0 ? 0 : this.module._embed_browser_max_payload(this.handle);
  }

  // Closes for good; resolves when closed. Pending requests fail (CANCELLED).
  close() {
    if (this.handle !== 0) this.module._embed_browser_close(this.handle);
    return this.closedPromise;
  }

  closed() { return this.closedPromise; }

  // --- called by the wasm module (synchronously; user code is deferred) ---

  onState(state, code, detail) {
    const name = STATE_NAMES[state];
    this.state = name;
    if (name === 'connected') this.resolveConnected(this);
    if (name === 'closed') {
      const reason = code === 0 || code === 3 ? null : new EmbedError(code, detail);
      this.rejectConnected(reason || new EmbedError(code, detail));
      // Free the client once the current call into wasm has returned.
      const handle = this.handle;
      this.handle = 0;
      queueMicrotask(() => {
        this.module.embedClients.delete(handle);
        this.module._embed_browser_destroy(handle);
        for (const subscription of this.subscriptions.values()) subscription.closed = true;
        this.subscriptions.clear();
        for (const { reject } of this.requests.values()) reject(new EmbedError(3, 'connection closed'));
        this.requests.clear();
        for (const { reject } of this.flushes.values()) reject(new EmbedError(3, 'connection closed'));
        this.flushes.clear();
        this.resolveClosed(reason);
      });
    }
    if (this.options.onState) {
      const callback = this.options.onState;
      queueMicrotask(() => callback(name, detail));
    }
  }

  onMessage(sid, subject, reply, hasHeaders, status, description, flatHeaders, data) {
    const subscription = this.subscriptions.get(sid);
    if (!subscription) return;
    const msg = new Msg(this, subject, reply, parseHeaders(hasHeaders, status, description, flatHeaders), data);
    queueMicrotask(() => {
      if (subscription.closed) return;
      subscription.received++;
      try {
        subscription.callback(msg, subscription);
      } catch (error) {
        this.reportError(error);
      }
    });
  }

  onReply(id, code, error, subject, hasHeaders, status, description, flatHeaders, data) {
    const pending = this.takePending(this.requests, id);
    if (!pending) return;
    if (code !== 0) {
      pending.reject(new EmbedError(code, error));
      return;
    }
    pending.resolve(new Msg(this, subject, '', parseHeaders(hasHeaders, status, description, flatHeaders), data));
  }

  onFlush(id, code, error) {
    const pending = this.takePending(this.flushes, id);
    if (!pending) return;
    if (code === 0) pending.resolve();
    else pending.reject(new EmbedError(code, error));
  }

  onError(code, message) {
    this.reportError(new EmbedError(code, message));
  }

  onSubscriptionDone(sid) {
    const subscription = this.subscriptions.get(sid);
    if (!subscription) return;
    this.subscriptions.delete(sid);
    // Messages already queued as microtasks still run first.
    queueMicrotask(() => { subscription.closed = true; });
  }

  reportError(error) {
    const callback = this.options.onError;
    if (callback) queueMicrotask(() => callback(error));
    else queueMicrotask(() => console.error('embed_client:', error));
  }
}

// Connects; resolves with the connection once the first server accepted the
// handshake, or rejects when every server failed once.
//   servers: ['ws://host:port', ...] (or one string)
//   name, user, pass, token, echo (default true)
//   reconnect (default true), maxReconnectAttempts (per server, -1 forever; default 60),
//   reconnectTimeWaitMs (2000), reconnectJitterMs (100), reconnectTimeWaitMaxMs (0 = constant),
//   timeoutMs (connect + handshake, 2000), pingIntervalMs (120000),
//   reconnectBufferBytes (8 MiB), onState(state, detail), onError(error)
export async function connect(options = {}) {
  let servers = options.servers ?? [];
  if (typeof servers === 'string') servers = [servers];
  if (servers.length === 0) throw new EmbedError(1, 'no servers given');
  for (const server of servers) {
    const url = new URL(server);  // throws on a malformed URL
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new EmbedError(1, `not a WebSocket URL: ${server}`);
    }
  }
  const module = await loadModule();
  const connection = new Connection(module, options);
  const args = [servers.join('\n'), options.name || '', options.user || '', options.pass || '',
    options.token || ''];
  connection.handle = connection.withStrings(args, (s, n, u, p, t) =>
    module._embed_browser_create(s, n, u, p, t, options.reconnect === false ? 0 : 1,
      options.maxReconnectAttempts ?? 60, options.reconnectTimeWaitMs ?? 2000,
      options.reconnectJitterMs ?? 100, options.reconnectTimeWaitMaxMs ?? 0,
      options.timeoutMs ?? 2000, options.pingIntervalMs ?? 120000,
      options.reconnectBufferBytes ?? 8 * 1024 * 1024, options.echo === false ? 0 : 1));
  if (connection.handle === 0) throw new EmbedError(1, 'invalid options');
  module.embedClients.set(connection.handle, connection);
  module._embed_browser_start(connection.handle);
  return connection.connectedPromise;
}

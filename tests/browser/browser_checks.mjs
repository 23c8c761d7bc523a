// End-to-end checks of Embed's browser client (embed/client/browser) in headless chromium, with
// native `embed` CLI processes as the peers on the other side:
//   browser -> native and native -> browser publish/subscribe (with headers),
//   request/reply both ways, no responders, 256 KiB messages both ways,
//   a broker restart on the same ports: the client reconnects, resubscribes and delivers a
//   publish made while disconnected.
// The page connects through a small TCP proxy in this script, so the test decides when the
// browser may reconnect (after the native receiver is back): no race, no sleeps.
//
//   node browser_checks.mjs --server nats-server|embed --binary <server> --embed <embed CLI>
//        --module-dir <dir with embed_client.mjs + embed_browser_core.mjs>
//        --node-modules <tests/interop/js/node_modules> [--chromium /usr/bin/chromium]
//
// Prints one line per check; exits 0 only if every check passes.

import { spawn } from 'node:child_process';
import { readFile, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const STEP_TIMEOUT_MS = 15000;
const WATCHDOG_MS = 120000;
const BIG_SIZE = 256 * 1024;

function parseArgs(argv) {
  const args = { chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    args[key] = argv[i + 1];
  }
  for (const required of ['server', 'binary', 'embed', 'moduleDir', 'nodeModules']) {
    if (!args[required]) {
      console.error(`usage: node browser_checks.mjs --server nats-server|embed --binary B ` +
                    `--embed E --module-dir D --node-modules N (missing --${required})`);
      process.exit(2);
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const here = path.dirname(fileURLToPath(import.meta.url));
const children = new Set();
let failures = 0;

function check(condition, what) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    console.error(`FAIL ${what}`);
    failures++;
  }
  return condition;
}

// Bytes the big messages carry: printable, so the CLI prints them as they are.
function bigText(seed) {
  let text = '';
  for (let i = 0; i < BIG_SIZE; ++i) text += String.fromCharCode(97 + ((i * 7 + seed) % 26));
  return text;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// A child process whose output lines can be awaited.
function startProcess(command, commandArgs, { input, name } = {}) {
  const child = spawn(command, commandArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const state = { stdout: '', stderr: '', waiters: [] };
  const onData = (key) => (chunk) => {
    state[key] += chunk.toString();
    for (const waiter of state.waiters.slice()) waiter();
  };
  child.stdout.on('data', onData('stdout'));
  child.stderr.on('data', onData('stderr'));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    for (const waiter of state.waiters.slice()) waiter();
    resolve({ code, signal });
  }));
  child.on('error', (error) => { state.stderr += String(error); });
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  return {
    child, state, exited, name: name || path.basename(command),
    // Resolves with the regex match once the output matches `pattern`.
    waitFor(pattern, ms = STEP_TIMEOUT_MS) {
      return withTimeout(new Promise((resolve, reject) => {
        const test = () => {
          const match = (state.stdout + state.stderr).match(pattern);
          if (match) {
            state.waiters = state.waiters.filter((w) => w !== test);
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            state.waiters = state.waiters.filter((w) => w !== test);
            reject(new Error(`${this.name} exited before printing ${pattern}: ${state.stderr}`));
          }
        };
        state.waiters.push(test);
        test();
      }), ms, `${this.name} output ${pattern}`);
    },
    async finish(ms = STEP_TIMEOUT_MS) {
      return withTimeout(exited, ms, `${this.name} to exit`);
    },
  };
}

// The broker under test. start() with ports (0 = ephemeral) for both listeners; a restart passes
// the ports seen first.
class Broker {
  constructor(kind, binary) {
    this.kind = kind;
    this.binary = binary;
  }

  async start(tcpPort = 0, wsPort = 0) {
    if (this.kind === 'nats-server') {
      this.configDir ??= await mkdtemp(path.join(os.tmpdir(), 'browser_checks_'));
      const config = path.join(this.configDir, 'server.conf');
      await writeFile(config, `websocket {\n  host: 127.0.0.1\n  port: ${wsPort || -1}\n  no_tls: true\n}\n`);
      this.process = startProcess(this.binary, ['-a', '127.0.0.1', '-p', String(tcpPort || -1), '-c', config],
                                  { name: 'nats-server' });
      const tcp = await this.process.waitFor(/Listening for client connections on [0-9.]+:(\d+)/);
      const ws = await this.process.waitFor(/Listening for websocket clients on ws:\/\/[0-9.]+:(\d+)/);
      this.tcpPort = Number(tcp[1]);
      this.wsPort = Number(ws[1]);
    } else {
      this.process = startProcess(this.binary, ['serve', '--host', '127.0.0.1', '--port', String(tcpPort),
                                                '--ws-port', String(wsPort)], { name: 'embed serve' });
      const tcp = await this.process.waitFor(/embed serve: listening on nats:\/\/[0-9.]+:(\d+)/);
      const ws = await this.process.waitFor(/embed serve: websocket on ws:\/\/[0-9.]+:(\d+)/);
      this.tcpPort = Number(tcp[1]);
      this.wsPort = Number(ws[1]);
    }
    this.natsUrl = `nats://127.0.0.1:${this.tcpPort}`;
  }

  async stop() {
    if (!this.process) return;
    this.process.child.kill('SIGTERM');
    await this.process.finish();
    this.process = null;
  }

  async cleanup() {
    await this.stop().catch(() => {});
    if (this.configDir) await rm(this.configDir, { recursive: true, force: true });
  }
}

// A TCP proxy in front of the broker's WebSocket port. While `allow` is false it drops new
// connections at once, so the browser keeps retrying. It records the upgrade requests.
class GatedProxy {
  constructor() {
    this.allow = true;
    this.upgradeRequests = [];
    this.sockets = new Set();
  }

  async start(upstreamPort) {
    this.upstreamPort = upstreamPort;
    this.server = net.createServer((socket) => {
      if (!this.allow) {
        socket.destroy();
        return;
      }
      const upstream = net.connect(this.upstreamPort, '127.0.0.1');
      this.sockets.add(socket).add(upstream);
      let first = true;
      socket.on('data', (chunk) => {
        if (first) this.upgradeRequests.push(chunk.toString('latin1').split('\r\n\r\n')[0]);
        first = false;
      });
      socket.pipe(upstream);
      upstream.pipe(socket);
      const end = () => {
        socket.destroy();
        upstream.destroy();
        this.sockets.delete(socket);
        this.sockets.delete(upstream);
      };
      socket.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `ws://127.0.0.1:${this.server.address().port}`;
  }

  close() {
    for (const socket of this.sockets) socket.destroy();
    this.server?.close();
  }
}

// Serves the page and the client module on 127.0.0.1.
async function startHttpServer(moduleDir) {
  const files = {
    '/': [path.join(here, 'index.html'), 'text/html'],
    '/embed_client.mjs': [path.join(moduleDir, 'embed_client.mjs'), 'text/javascript'],
    '/embed_browser_core.mjs': [path.join(moduleDir, 'embed_browser_core.mjs'), 'text/javascript'],
  };
  const server = createServer(async (request, response) => {
    const file = files[new URL(request.url, 'http://x').pathname];
    if (request.url === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file[0]);
      response.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' }).end(body);
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

// Runs `embed <args>` to completion; returns its stdout (fails the step on a non-zero exit).
async function runEmbed(broker, commandArgs, input) {
  const peer = startProcess(args.embed, [...commandArgs, '-s', broker.natsUrl],
                            { input, name: `embed ${commandArgs[0]}` });
  const { code } = await peer.finish();
  if (code !== 0) throw new Error(`embed ${commandArgs.join(' ')} exited ${code}: ${peer.state.stderr}`);
  return peer.state.stdout;
}

// Starts a long-running `embed sub|reply` and waits until it is subscribed.
async function startEmbedPeer(broker, commandArgs) {
  const peer = startProcess(args.embed, [...commandArgs, '-s', broker.natsUrl],
                            { name: `embed ${commandArgs[0]}` });
  await peer.waitFor(/^(Subscribing on|Listening for requests on)/m);
  return peer;
}

async function waitInPage(page, predicate, arg, what) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: STEP_TIMEOUT_MS, polling: 20 });
    return true;
  } catch (error) {
    const snapshot = await page.evaluate(() => ({ states: T.states, errors: T.errors }));
    throw new Error(`${what}: ${error.message.split('\n')[0]}; page: ${JSON.stringify(snapshot)}`);
  }
}

async function runChecks(page, broker, proxy) {
  // Connect, and helpers in the page: T.collect(subject) keeps what arrives on a subject.
  await page.evaluate(async (url) => {
    window.T = { states: [], errors: [], received: {} };
    T.nc = await embedClient.connect({
      servers: [url], name: 'browser-checks', reconnectTimeWaitMs: 100, reconnectJitterMs: 0,
      maxReconnectAttempts: -1, timeoutMs: 3000,
      onState: (state) => T.states.push(state), onError: (error) => T.errors.push(String(error)),
    });
    T.collect = (subject) => {
      T.received[subject] = [];
      return T.nc.subscribe(subject, (m) => T.received[subject].push({
        data: m.string(), size: m.data.length, headers: m.headers ? m.headers.entries() : null }));
    };
    T.big = (seed) => {
      let text = '';
      for (let i = 0; i < 256 * 1024; ++i) text += String.fromCharCode(97 + ((i * 7 + seed) % 26));
      return text;
    };
  }, proxy.url);
  check(await page.evaluate(() => T.states.join(',') === 'connected' && T.nc.maxPayload >= 256 * 1024),
        'connect: connected, max_payload >= 256 KiB');
  const upgrade = proxy.upgradeRequests[0] || '';
  check(/^GET .* HTTP\/1\.1/.test(upgrade) && !/sec-websocket-protocol/i.test(upgrade),
        'the browser upgrade request asks for no subprotocol');

  // browser -> native, with headers.
  {
    const sub = await startEmbedPeer(broker, ['sub', 'b2n', '--count', '1']);
    await page.evaluate(() => T.nc.publish('b2n', 'hello from the browser',
                                           { headers: { 'X-From': 'browser' } }));
    await sub.finish();
    check(sub.state.stdout.includes('hello from the browser') && sub.state.stdout.includes('X-From: browser'),
          'publish browser -> native embed sub (payload and header)');
  }
  // native -> browser.
  {
    await page.evaluate(() => { T.collect('n2b'); return T.nc.flush(); });
    await runEmbed(broker, ['pub', 'n2b', 'hello from native', '-H', 'X-From:native', '-H', 'X-Multi:a',
                            '-H', 'X-Multi:b']);
    await waitInPage(page, () => T.received.n2b.length >= 1, undefined, 'native -> browser');
    const got = await page.evaluate(() => T.received.n2b);
    check(got.length === 1 && got[0].data === 'hello from native', 'publish native embed pub -> browser');
    check(JSON.stringify(got[0].headers) === JSON.stringify([['X-From', 'native'], ['X-Multi', 'a'], ['X-Multi', 'b']]),
          `headers native -> browser (${JSON.stringify(got[0].headers)})`);
  }
  // A queue group of two browser subscriptions: each message to exactly one of them.
  {
    await page.evaluate(() => {
      T.queue = [];
      for (const member of [0, 1]) {
        T.nc.subscribe('queue.work', (m) => T.queue.push([member, m.string()]), { queue: 'workers' });
      }
      return T.nc.flush();
    });
    await runEmbed(broker, ['pub', 'queue.work', 'job', '--count', '20']);
    await waitInPage(page, () => T.queue.length >= 20, undefined, 'queue group');
    await page.evaluate(() => T.nc.flush());
    const count = await page.evaluate(() => T.queue.length);
    check(count === 20, `queue group: 20 messages to 2 browser members, each once (got ${count})`);
  }
  // Local errors are reported at once.
  {
    const codes = await page.evaluate(() => {
      const codeOf = (fn) => { try { fn(); return 'no error'; } catch (error) { return error.code; } };
      return [codeOf(() => T.nc.subscribe('bad subject', () => {})),
              codeOf(() => T.nc.publish('a..b', 'x')),
              codeOf(() => T.nc.publish('too.big', new Uint8Array(T.nc.maxPayload + 1)))];
    });
    check(JSON.stringify(codes) === '["INVALID_ARGUMENT","INVALID_ARGUMENT","RESOURCE_EXHAUSTED"]',
          `bad subjects and an oversized publish fail locally (${codes})`);
  }
  // request browser -> native replier.
  {
    const replier = await startEmbedPeer(broker, ['reply', 'svc.native', 'native-answer', '--count', '1']);
    const answer = await page.evaluate(async () =>
      (await T.nc.request('svc.native', 'question', { timeoutMs: 5000 })).string());
    await replier.finish();
    check(answer === 'native-answer', 'request browser -> native embed reply');
  }
  // request native -> browser replier.
  {
    await page.evaluate(() => {
      T.nc.subscribe('svc.browser', (m) => m.respond(`browser-answer:${m.string()}`));
      return T.nc.flush();
    });
    const out = await runEmbed(broker, ['req', 'svc.browser', 'hi']);
    check(out.trim() === 'browser-answer:hi', 'request native embed req -> browser replier');
  }
  // no responders.
  {
    const code = await page.evaluate(async () => {
      try {
        await T.nc.request('nobody.home', 'x', { timeoutMs: 5000 });
        return 'answered';
      } catch (error) {
        return error.code;
      }
    });
    check(code === 'UNAVAILABLE', `request without responders fails with UNAVAILABLE (got ${code})`);
  }
  // 256 KiB both ways.
  {
    const sub = await startEmbedPeer(broker, ['sub', 'big.b2n', '--count', '1']);
    await page.evaluate(() => T.nc.publish('big.b2n', T.big(1)));
    await sub.finish();
    check(sub.state.stdout.includes(bigText(1)), '256 KiB browser -> native intact');

    await page.evaluate(() => { T.collect('big.n2b'); return T.nc.flush(); });
    await runEmbed(broker, ['pub', 'big.n2b'], bigText(2));
    await waitInPage(page, () => T.received['big.n2b'].length >= 1, undefined, '256 KiB native -> browser');
    check(await page.evaluate(() => T.received['big.n2b'][0].data === T.big(2)),
          '256 KiB native -> browser intact');
  }
  // Broker restart on the same ports.
  {
    await page.evaluate(() => { T.collect('buffered'); T.collect('after.restart'); return T.nc.flush(); });
    const tcpPort = broker.tcpPort;
    const wsPort = broker.wsPort;
    proxy.allow = false;
    await broker.stop();
    await waitInPage(page, () => T.states.includes('disconnected') && T.states.includes('reconnecting'),
                     undefined, 'disconnected');
    await page.evaluate(() => T.nc.publish('buffered', 'published while disconnected'));
    await broker.start(tcpPort, wsPort);
    check(broker.tcpPort === tcpPort && broker.wsPort === wsPort, 'broker restarted on the same ports');
    const sub = await startEmbedPeer(broker, ['sub', 'buffered', '--count', '1']);
    proxy.allow = true;
    await waitInPage(page, () => T.states.includes('reconnected'), undefined, 'reconnected');
    await sub.finish();
    check(sub.state.stdout.includes('published while disconnected'),
          'publish made while disconnected delivered to native embed sub after reconnect');
    await waitInPage(page, () => T.received.buffered.length >= 1, undefined, 'buffered echo');
    check(await page.evaluate(() => T.received.buffered[0].data === 'published while disconnected'),
          'the resubscribed browser subscription got the buffered publish');
    await runEmbed(broker, ['pub', 'after.restart', 'native after restart']);
    await waitInPage(page, () => T.received['after.restart'].length >= 1, undefined, 'after restart');
    check(true, 'subscription made before the restart receives native publishes after it');
    const states = await page.evaluate(() => T.states.join(','));
    check(states.startsWith('connected,disconnected,reconnecting') && states.endsWith('reconnected'),
          `state events: ${states}`);
  }
  // Close.
  {
    const result = await page.evaluate(async () => {
      await T.nc.close();
      let threw = false;
      try { T.nc.publish('x', 'y'); } catch (error) { threw = error.code === 'FAILED_PRECONDITION'; }
      return { last: T.states[T.states.length - 1], threw, errors: T.errors };
    });
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
    const last = await page.evaluate(() => T.states[T.states.length - 1]);
    check(last === 'closed' && result.threw, 'close: closed event, later publishes fail');
    check(result.errors.length === 0, `no async errors (${JSON.stringify(result.errors)})`);
  }
}

async function main() {
  const require = createRequire(path.join(path.resolve(args.nodeModules), 'noop.js'));
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (error) {
    console.error(`npm package "playwright-core" is missing (${error.message}): run scripts/deps, ` +
                  'which runs `npm ci` in tests/interop/js');
    process.exit(2);
  }
  const broker = new Broker(args.server, args.binary);
  const proxy = new GatedProxy();
  let http = null;
  let browser = null;
  const watchdog = setTimeout(() => {
    console.error(`browser_checks: watchdog fired after ${WATCHDOG_MS} ms`);
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  }, WATCHDOG_MS);
  try {
    await broker.start();
    console.log(`browser_checks: ${args.server} on ${broker.natsUrl}, websocket port ${broker.wsPort}`);
    await proxy.start(broker.wsPort);
    http = await startHttpServer(args.moduleDir);
    browser = await chromium.launch({ executablePath: args.chromium, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    page.on('console', (message) => console.log(`page: ${message.text()}`));
    page.on('pageerror', (error) => console.error(`page error: ${error}`));
    await page.goto(http.url);
    await page.waitForFunction(() => window.pageReady === true, undefined, { timeout: STEP_TIMEOUT_MS });
    await runChecks(page, broker, proxy);
  } catch (error) {
    console.error(`FAIL ${error?.stack ?? error}`);
    failures++;
  } finally {
    await browser?.close().catch(() => {});
    http?.server.close();
    proxy.close();
    await broker.cleanup();
    for (const child of children) child.kill('SIGKILL');
    clearTimeout(watchdog);
  }
  if (failures > 0) {
    console.error(`browser_checks: ${failures} check(s) failed against ${args.server}`);
    process.exit(1);
  }
  console.log(`browser_checks: all checks passed against ${args.server}`);
}

await main();

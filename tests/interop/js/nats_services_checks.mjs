// Interop checks of an Embed RPC service host against npm `nats` (nats.js v2): its service client
// (`nc.services.client()`) discovers the service through $SRV.PING / $SRV.INFO / $SRV.STATS
// (nats-wire.md §9), then a plain nats.js request calls one unary endpoint with raw protobuf
// bytes, as any NATS tool can.
//
//   node nats_services_checks.mjs <url> <service name> <endpoint subject> <request hex> <reply hex>
//   node nats_services_checks.mjs nats://127.0.0.1:4222 greeter_v1_Greeter \
//       greeter.v1.Greeter.SayHello 0a03416e6e 0a0948656c6c6f20416e6e
//
// The same values may come from the environment instead: NATS_URL, SERVICE_NAME,
// ENDPOINT_SUBJECT, REQUEST_HEX, REPLY_HEX. Prints one line per check; exits 0 only if every
// check passes, 1 on a mismatch, 2 on bad arguments.

const [argUrl, argName, argSubject, argRequest, argReply] = process.argv.slice(2);
const url = argUrl ?? process.env.NATS_URL;
const serviceName = argName ?? process.env.SERVICE_NAME;
const endpointSubject = argSubject ?? process.env.ENDPOINT_SUBJECT;
const requestHex = argRequest ?? process.env.REQUEST_HEX ?? "";
const replyHex = argReply ?? process.env.REPLY_HEX;
if (!url || !serviceName || !endpointSubject || replyHex === undefined) {
  console.error("usage: node nats_services_checks.mjs <url> <service name> <endpoint subject> " +
                "<request hex> <reply hex>");
  process.exit(2);
}
const HEX = /^([0-9a-fA-F]{2})*$/;
if (!HEX.test(requestHex) || !HEX.test(replyHex)) {
  console.error("request and reply must be hex strings (two digits per byte)");
  process.exit(2);
}

let nats;
try {
  nats = await import("nats");
} catch (error) {
  console.error(`npm package "nats" is missing (${error.message}): run scripts/deps, ` +
                "which runs `npm ci` in tests/interop/js");
  process.exit(2);
}
const { connect, RequestStrategy } = nats;

const TIMEOUT_MS = 5000;
// How long the service client collects responses of each verb.
const COLLECT_MS = 1000;
// From the official SemVer 2.0 regular expression (https://semver.org).
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const failures = [];

function fail(check, message) {
  failures.push(`${check}: ${message}`);
  console.error(`FAIL ${check}: ${message}`);
}

function expect(check, what, condition, detail = "") {
  if (!condition) fail(check, `${what}${detail ? ` (${detail})` : ""}`);
  return condition;
}

function expectEqual(check, what, actual, expected) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  return expect(check, what, a === e, `got ${String(a).slice(0, 300)}, want ${e.slice(0, 300)}`);
}

function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function toHex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

async function collect(iterator) {
  const items = [];
  for await (const item of iterator) items.push(item);
  return items;
}

async function check(name, body) {
  const before = failures.length;
  try {
    await body(name);
  } catch (error) {
    fail(name, `threw ${error?.code ?? ""} ${error?.message ?? error}`);
  }
  if (failures.length === before) console.log(`ok   ${name}`);
}

const nc = await connect({ servers: url, timeout: TIMEOUT_MS, reconnect: false });
const client = nc.services.client({ strategy: RequestStrategy.Timer, maxWait: COLLECT_MS });
let instanceId = "";

await check("ping finds the service", async (name) => {
  const all = await collect(await client.ping());
  const ours = all.filter((identity) => identity.name === serviceName);
  if (!expect(name, `a PING response named ${serviceName}`, ours.length > 0,
              `got ${JSON.stringify(all.map((identity) => identity.name))}`)) {
    return;
  }
  const identity = ours[0];
  instanceId = identity.id;
  expectEqual(name, "type", identity.type, "io.nats.micro.v1.ping_response");
  expect(name, "a non-empty id", typeof identity.id === "string" && identity.id.length > 0);
  expect(name, "a SemVer version", SEMVER.test(identity.version ?? ""), identity.version);
  expect(name, "metadata is an object", identity.metadata !== null &&
         typeof identity.metadata === "object");
  // The three subject levels: by name, and by name and id.
  const byName = await collect(await client.ping(serviceName));
  expect(name, "PING by name answers", byName.some((i) => i.id === instanceId));
  const byId = await collect(await client.ping(serviceName, instanceId));
  expectEqual(name, "PING by name and id", byId.map((i) => i.id), [instanceId]);
});

await check("info lists the endpoint", async (name) => {
  const infos = await collect(await client.info(serviceName));
  if (!expect(name, "an INFO response", infos.length > 0)) return;
  const info = infos.find((i) => i.id === instanceId) ?? infos[0];
  expectEqual(name, "type", info.type, "io.nats.micro.v1.info_response");
  expectEqual(name, "name", info.name, serviceName);
  expect(name, "description is a string", typeof info.description === "string");
  expect(name, "endpoints is an array", Array.isArray(info.endpoints));
  const endpoint = (info.endpoints ?? []).find((e) => e.subject === endpointSubject);
  if (!expect(name, `an endpoint on ${endpointSubject}`, endpoint !== undefined,
              `got ${JSON.stringify((info.endpoints ?? []).map((e) => e.subject))}`)) {
    return;
  }
  expect(name, "endpoint name", typeof endpoint.name === "string" && endpoint.name.length > 0);
  // Embed's metadata, when the host is Embed's (other services may have none).
  const kind = endpoint.metadata?.["embed.kind"];
  if (kind !== undefined) expectEqual(name, "embed.kind of a unary endpoint", kind, "unary");
});

async function endpointStats(name) {
  const all = await collect(await client.stats(serviceName, instanceId));
  if (!expect(name, "a STATS response", all.length === 1, `got ${all.length}`)) return undefined;
  const stats = all[0];
  expectEqual(name, "type", stats.type, "io.nats.micro.v1.stats_response");
  expect(name, "started is a date", !Number.isNaN(Date.parse(stats.started)), stats.started);
  const endpoint = (stats.endpoints ?? []).find((e) => e.subject === endpointSubject);
  expect(name, `stats of ${endpointSubject}`, endpoint !== undefined);
  if (endpoint !== undefined) {
    for (const field of ["num_requests", "num_errors", "processing_time",
                         "average_processing_time"]) {
      expect(name, `${field} is a number`, typeof endpoint[field] === "number",
             JSON.stringify(endpoint[field]));
    }
  }
  return endpoint;
}

let requestsBefore;
await check("stats reads the endpoint", async (name) => {
  requestsBefore = (await endpointStats(name))?.num_requests;
});

await check("a raw request gets the expected reply bytes", async (name) => {
  const reply = await nc.request(endpointSubject, fromHex(requestHex), { timeout: TIMEOUT_MS });
  expect(name, "no service error header", !reply.headers?.has("Nats-Service-Error"),
         `${reply.headers?.get("Nats-Service-Error-Code")}: ` +
         `${reply.headers?.get("Nats-Service-Error")}`);
  expectEqual(name, "reply bytes (hex)", toHex(reply.data), replyHex.toLowerCase());
});

await check("stats count the request", async (name) => {
  const endpoint = await endpointStats(name);
  if (endpoint === undefined || requestsBefore === undefined) return;
  expect(name, "num_requests grew", endpoint.num_requests >= requestsBefore + 1,
         `${requestsBefore} -> ${endpoint.num_requests}`);
});

await nc.close();
if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log("all checks passed");

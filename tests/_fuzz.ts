/**
 * The pieces of the fuzz test's requests (`fuzz_test.ts`): a seeded PRNG,
 * so that a failing run replays with `FUZZ_SEED`, hostile values, bodies,
 * headers, path segments and query strings, and the valid ingest the test
 * counts. The generators per target are in `_fuzz_targets.ts`.
 *
 * @module
 */

/** Body limit of the collector's POSTs but ingest (`collector/app.ts` MAX_BODY_BYTES). */
export const MAX_BODY_BYTES = 64 * 1024;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Where the requests go and the credentials they may carry. */
export interface FuzzContext {
  /** Base URLs without a trailing slash. */
  collector: string;
  agent: string;
  /** The site of the agent tokens below. */
  site: string;
  /** Agent token of the host whose valid ingests are counted (only unparsable bodies otherwise). */
  validToken: string;
  validHost: string;
  /** Agent token of a second host that takes every mutated (maybe valid) ingest. */
  junkToken: string;
  junkHost: string;
  apiToken: string;
  /** The signed-in user's session cookie value and CSRF token. */
  session: { cookie: string; csrf: string };
  user: { name: string; password: string };
  /** The agent's control secret (bearer of its /api/*). */
  controlSecret: string;
  script: string;
  webhook: string;
}

/** What the fuzz sends to. */
export type Target =
  | "ingest"
  | "login"
  | "api-get"
  | "api-post"
  | "page"
  | "ping"
  | "relay"
  | "agent-api";

/** One request, ready to send. */
export interface FuzzRequest {
  target: Target;
  method: string;
  /** Absolute, already encoded as it should go on the wire. */
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/** Strings that broke parsers, paths and templates somewhere before. */
export const NASTY = [
  "",
  " ",
  "..",
  "../../etc/passwd",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f%2e%2e%2f",
  "%00",
  "\u0000",
  "a\u0000b",
  "\u0001\u0002\u001b[31m\u007f",
  "\u202e\u200b\ufeff",
  "💥🔥",
  "\ud800",
  "𝕏".repeat(40),
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "${jndi:ldap://x}",
  "%",
  "%ZZ",
  "%%%",
  "..\\..\\windows\\win.ini",
  "null",
  "NaN",
  "-1",
  "1e309",
  "__proto__",
  "constructor",
  "a".repeat(101),
  "A".repeat(5000),
];

/** Header-safe junk (fetch refuses control characters in header values). */
export const HEADER_NASTY = [
  "",
  " ",
  "x".repeat(8000),
  "Bearer",
  "Bearer ",
  "Bearer  x",
  "bearer sm_agent_" + "0".repeat(64),
  "Basic dXNlcjpwYXNz",
  "Bearer ../../etc/passwd",
  "Bearer %00",
  "Bearer " + "A".repeat(4000),
  "Digest x",
];

/** Content types right, wrong, half-right and huge. */
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-7",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "multipart/form-data; boundary=",
  "multipart/form-data; boundary=xyz",
  "application/xml",
  "*/*",
  ";;;",
  "application/" + "j".repeat(5000),
];

/** Methods a route may or may not take (fetch refuses CONNECT and TRACE). */
export const METHODS = [
  "GET",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "HEAD",
  "PROPFIND",
  "FOO",
];

/** Values of the wrong type for any field. */
export function wrongValue(rng: Rng): unknown {
  switch (rng.int(16)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, -0, 2 ** 53 + 1, 1e308, -1e308]);
    case 3:
      return "";
    case 4:
      return rng.pick(NASTY);
    case 5:
      return "x".repeat(rng.pick([101, 1001, 20_000, 70_000]));
    case 6:
      return [];
    case 7:
      return [rng.pick(NASTY), null, 1];
    case 8:
      return {};
    case 9:
      return { __proto__: { admin: true }, constructor: { prototype: 1 } };
    case 10:
      return nested(rng.pick([10, 100, 1000]), rng);
    case 11:
      return rng.pick(["2026-13-45T99:99:99Z", "yesterday", "275760-09-13T00:00:00.001Z"]);
    case 12:
      return "\u4e00".repeat(rng.pick([100, 31_000]));
    case 13:
      return Array.from({ length: rng.pick([2, 600, 1200]) }, (_, i) => i);
    case 14:
      return -rng.int(1_000_000);
    default:
      return { nested: { deeper: rng.pick(NASTY) } };
  }
}

/** A random scalar wrapped `depth` times in arrays or objects. */
export function nested(depth: number, rng: Rng): unknown {
  let value: unknown = rng.pick(NASTY);
  for (let i = 0; i < depth; i++) value = rng.chance(0.5) ? [value] : { a: value };
  return value;
}

/** Text of JSON nested `depth` deep (arrays or objects), built without recursion. */
export function deepText(depth: number, object: boolean): string {
  return object
    ? '{"a":'.repeat(depth) + "1" + "}".repeat(depth)
    : "[".repeat(depth) + "]".repeat(depth);
}

/** A valid ingest body from `host` of `site` with events `seqs`. */
export function ingestBody(
  site: string,
  host: string,
  seqs: readonly number[],
  now = new Date(),
): Record<string, unknown> {
  const at = now.toISOString();
  return {
    protocol: 1,
    agent: { site, host, version: "0.1.0", os: "linux", pid: 4242, startedAt: at, now: at },
    scripts: [{
      name: "rates",
      state: "running",
      health: "healthy",
      enabled: true,
      pid: 1234,
      uptimeMs: 1000,
      restarts: 0,
      rssBytes: 1_000_000,
      cpuPercent: 0.5,
      lastExit: null,
      checks: [{ name: "heartbeat", status: "ok", reason: "" }],
      reason: null,
    }],
    events: seqs.map((seq) => ({
      seq,
      at,
      kind: "fuzz",
      script: "rates",
      data: { seq, note: "valid" },
    })),
    acks: [],
    dropped: 0,
  };
}

/** One token of a heartbeat, as an agent reports it (`midway`, valid, used by `rates`). */
export function tokenSummary(at: string): Record<string, unknown> {
  return {
    name: "midway",
    state: "valid",
    expiresAt: at,
    secondsLeft: 60,
    predicted: false,
    confidence: 1,
    usedBy: ["rates"],
  };
}

/** The valid ingest that carries `seqs` for the counted host. */
export function validIngest(ctx: FuzzContext, seqs: readonly number[]): FuzzRequest {
  return {
    target: "ingest",
    method: "POST",
    url: `${ctx.collector}/api/v1/ingest`,
    headers: { authorization: `Bearer ${ctx.validToken}`, "content-type": "application/json" },
    body: JSON.stringify(ingestBody(ctx.site, ctx.validHost, seqs)),
  };
}

/** Every path into `value` (object keys and array indexes). */
export function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
) {
  if (typeof value !== "object" || value === null) return out;
  for (const [k, v] of Object.entries(value)) {
    const key = Array.isArray(value) ? Number(k) : k;
    out.push([...prefix, key]);
    paths(v, [...prefix, key], out);
  }
  return out;
}

/** `body` with one field set to a wrong value, removed, or an unknown field added. */
export function mutate(rng: Rng, body: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(body);
  const all = paths(copy);
  const path = rng.pick(all);
  let parent: Record<string | number, unknown> = copy;
  for (const part of path.slice(0, -1)) {
    const child = parent[part];
    if (typeof child !== "object" || child === null) break;
    parent = child as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  const how = rng.int(10);
  if (how === 0) delete parent[last];
  else if (how === 1) parent[`extra_${rng.int(100)}`] = wrongValue(rng);
  else parent[last] = wrongValue(rng);
  return copy;
}

/** `text` padded with a JSON string field so that it is exactly `bytes` long. */
export function padTo(prefix: Record<string, unknown>, bytes: number): string {
  const base = JSON.stringify({ ...prefix, pad: "" });
  return base.slice(0, -2) + "x".repeat(Math.max(0, bytes - base.length)) + '"}';
}

/** `n` random bytes (rarely valid UTF-8, never valid JSON). */
export function randomBytes(rng: Rng, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = rng.int(256);
  return bytes;
}

/** An Authorization header for a collector request: right, wrong kind, junk or none. */
export function collectorAuth(
  rng: Rng,
  ctx: FuzzContext,
  usual: "agent" | "api",
): Record<string, string> {
  const roll = rng.int(10);
  if (roll < 5) {
    return { authorization: `Bearer ${usual === "agent" ? ctx.junkToken : ctx.apiToken}` };
  }
  if (roll === 5) {
    return { authorization: `Bearer ${usual === "agent" ? ctx.apiToken : ctx.junkToken}` };
  }
  if (roll === 6) return { cookie: `scriptmon_session=${ctx.session.cookie}` };
  if (roll === 7) return {};
  if (roll === 8) return { cookie: `scriptmon_session=${rng.pick(["x", "A".repeat(4000), ""])}` };
  return { authorization: rng.pick(HEADER_NASTY) };
}

/** Origin and Sec-Fetch-Site as a browser on this origin, another site, or a forger sends them. */
export function originHeaders(rng: Rng, own: string): Record<string, string> {
  switch (rng.int(6)) {
    case 0:
      return { origin: own, "sec-fetch-site": "same-origin" };
    case 1:
      return { origin: "https://evil.example", "sec-fetch-site": "cross-site" };
    case 2:
      return { origin: "null" };
    case 3:
      return { "sec-fetch-site": rng.pick(["same-site", "cross-site", "none", "???"]) };
    case 4:
      return { origin: own.replace("127.0.0.1", "localhost") };
    default:
      return {};
  }
}

/** Mostly the usual Content-Type, sometimes none or a wrong one. */
export function maybeContentType(rng: Rng, usual: string): Record<string, string> {
  if (rng.chance(0.6)) return { "content-type": usual };
  if (rng.chance(0.3)) return {};
  return { "content-type": rng.pick(CONTENT_TYPES) };
}

/** `encodeURIComponent`, but a lone surrogate goes as the invalid UTF-8 it would be. */
export function enc(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80";
  }
}

/** A path segment: the usual one, or something hostile (encoded or raw). */
export function segment(rng: Rng, usual: string): string {
  if (rng.chance(0.4)) return usual;
  const nasty = rng.pick(NASTY);
  switch (rng.int(3)) {
    case 0:
      return enc(nasty);
    case 1:
      return nasty.replace(/[^A-Za-z0-9._%~-]/g, (ch) => enc(ch));
    default:
      return rng.pick(["..%2F..%2Fetc", "%2e%2e", "a%2Fb", "%C0%AE%C0%AE", "%FF%FE", "%"]);
  }
}

/** A query string of junk parameters (sometimes very long). */
export function junkQuery(rng: Rng, names: readonly string[]): string {
  const parts: string[] = [];
  const n = rng.int(4);
  for (let i = 0; i < n; i++) {
    const name = rng.chance(0.8) ? rng.pick(names) : rng.pick(NASTY).slice(0, 50);
    const value = rng.chance(0.5) ? String(wrongValue(rng)).slice(0, 3000) : rng.pick(NASTY);
    parts.push(`${enc(name)}=${enc(value).slice(0, 3000)}`);
  }
  if (rng.chance(0.05)) parts.push(`q=${"z".repeat(rng.pick([4000, 12_000]))}`);
  if (rng.chance(0.05)) parts.push(Array.from({ length: 300 }, (_, i) => `p${i}=${i}`).join("&"));
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

/** Sometimes a flood of extra headers, otherwise none. */
export function extraHeaders(rng: Rng): Record<string, string> {
  if (!rng.chance(0.03)) return {};
  // The servers answer a request over their header limits (some 100 headers, 64 KiB) with 400.
  if (rng.chance(0.2)) return { "x-fuzz-huge": "h".repeat(rng.pick([10_000, 100_000])) };
  const out: Record<string, string> = {};
  const n = rng.pick([50, 90, 150, 300]);
  const size = rng.pick([10, 100, 1000]);
  for (let i = 0; i < n; i++) out[`x-fuzz-${i}`] = "v".repeat(size);
  return out;
}

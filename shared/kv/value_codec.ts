/**
 * KV values as a small tagged JSON that keeps what plain JSON loses (`Uint8Array`, `bigint`,
 * `Date`, `Deno.KvU64`, `undefined`, non-finite numbers and -0): the collector's dumps and its
 * PostgreSQL store, and the agent's SQLite store, keep values in it.
 *
 * @module
 */

/** Tagged JSON: what a KV key part or value is kept as. */
export type Encoded =
  | null
  | boolean
  | number
  | string
  | Encoded[]
  | { [key: string]: Encoded };

const encodeBytes = (bytes: Uint8Array) =>
  btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
const decodeBytes = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/**
 * Encodes a KV key part or value as tagged JSON.
 *
 * @throws {TypeError} for what tagged JSON cannot carry (Map, Set, class instances...), naming `where`.
 */
export function encodeValue(value: unknown, where = "value"): Encoded {
  // Most values are plain JSON already: checked without a copy, they are their own encoding.
  if (isPlainJson(value)) return value;
  return encodeTagged(value, where);
}

/**
 * Whether `value` is JSON that needs no tag: null, booleans, strings, finite numbers but -0,
 * arrays of those, and plain objects of those with no key that starts with `$`.
 */
function isPlainJson(value: unknown): value is Encoded {
  if (value === null || typeof value === "boolean" || typeof value === "string") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== "object") return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    if (key.startsWith("$") || !isPlainJson((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function encodeTagged(value: unknown, where: string): Encoded {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (value === undefined) return { $undefined: true };
  if (typeof value === "number") {
    return Number.isFinite(value) && !Object.is(value, -0)
      ? value
      : { $number: Object.is(value, -0) ? "-0" : String(value) };
  }
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: encodeBytes(value) };
  if (value instanceof Deno.KvU64) return { $u64: value.value.toString() };
  if (value instanceof Date) return { $date: value.getTime() };
  if (Array.isArray(value)) return value.map((item, i) => encodeTagged(item, `${where}[${i}]`));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: { [key: string]: Encoded } = {};
    for (const [k, v] of Object.entries(value)) out[k] = encodeTagged(v, `${where}.${k}`);
    // A plain object whose keys look like a tag is wrapped, so it decodes as itself.
    return Object.keys(out).some((k) => k.startsWith("$")) ? { $object: out } : out;
  }
  const kind = typeof value === "object" ? value.constructor?.name ?? "object" : typeof value;
  throw new TypeError(`Cannot store ${where}: a ${kind} is not supported`);
}

/**
 * Decodes what {@linkcode encodeValue} made.
 *
 * @throws {TypeError} on an unknown tag.
 */
export function decodeValue(encoded: Encoded): unknown {
  if (encoded === null || typeof encoded !== "object") return encoded;
  if (Array.isArray(encoded)) return encoded.map(decodeValue);
  const keys = Object.keys(encoded);
  if (keys.length === 1 && keys[0].startsWith("$")) {
    const inner = encoded[keys[0]];
    switch (keys[0]) {
      case "$undefined":
        return undefined;
      case "$number":
        return inner === "-0" ? -0 : Number(inner);
      case "$bigint":
        return BigInt(String(inner));
      case "$bytes":
        return decodeBytes(String(inner));
      case "$u64":
        return new Deno.KvU64(BigInt(String(inner)));
      case "$date":
        return new Date(Number(inner));
      case "$object": {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(inner as Record<string, Encoded>)) {
          out[k] = decodeValue(v);
        }
        return out;
      }
    }
  }
  if (keys.some((k) => k.startsWith("$"))) {
    throw new TypeError(`Unknown tag in a stored value: ${JSON.stringify(keys)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(encoded)) out[k] = decodeValue(v);
  return out;
}

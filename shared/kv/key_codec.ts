/**
 * Deno KV keys as bytes that sort the way Deno KV sorts them, so that a
 * PostgreSQL `bytea` primary key (compared byte by byte) lists in KV order.
 *
 * Each part is a type tag followed by its value: tags follow KV's order of
 * types (bytes < string < bigint < number < boolean). Bytes and strings end
 * with 0x00, a 0x00 inside them is written 0x00 0xFF, so a part never runs into
 * the next one and a shorter value sorts first. Numbers are IEEE 754 doubles,
 * big-endian, with the sign bit flipped (all bits for negatives); bigints are a
 * sign, a length and the magnitude.
 *
 * @module
 */

const BYTES = 0x01;
const STRING = 0x02;
const BIGINT = 0x03;
const NUMBER = 0x04;
const BOOLEAN = 0x05;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A string part's UTF-8, escaped and ended; ASCII (most keys) without encoding it first. */
function pushString(out: number[], text: string): void {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // The rest from the first non-ASCII character on: UTF-8 of a whole string is its pieces'.
    if (code >= 0x80) return pushEscaped(out, encoder.encode(text.slice(i)));
    out.push(code);
    if (code === 0x00) out.push(0xff);
  }
  out.push(0x00);
}

/** A number's 8 bytes, written here and read into the key. */
const float = new DataView(new ArrayBuffer(8));

function pushEscaped(out: number[], bytes: Uint8Array): void {
  for (const byte of bytes) {
    out.push(byte);
    if (byte === 0x00) out.push(0xff);
  }
  out.push(0x00);
}

function magnitudeBytes(n: bigint): number[] {
  const out: number[] = [];
  for (let rest = n; rest > 0n; rest >>= 8n) out.unshift(Number(rest & 0xffn));
  if (out.length > 255) throw new RangeError("A bigint key part over 255 bytes is not supported");
  return out;
}

/** The bytes of `key`; `encodeKey(a) < encodeKey(b)` byte-wise exactly when KV sorts `a` first. */
export function encodeKey(key: Deno.KvKey): Uint8Array {
  const out: number[] = [];
  for (const part of key) {
    if (part instanceof Uint8Array) {
      out.push(BYTES);
      pushEscaped(out, part);
    } else if (typeof part === "string") {
      out.push(STRING);
      pushString(out, part);
    } else if (typeof part === "number") {
      float.setFloat64(0, part);
      // Negatives: every bit flipped; the others: the sign bit set.
      const negative = (float.getUint8(0) & 0x80) !== 0;
      out.push(NUMBER, float.getUint8(0) ^ (negative ? 0xff : 0x80));
      for (let i = 1; i < 8; i++) out.push(negative ? float.getUint8(i) ^ 0xff : float.getUint8(i));
    } else if (typeof part === "bigint") {
      const magnitude = magnitudeBytes(part < 0n ? -part : part);
      if (part < 0n) {
        out.push(
          BIGINT,
          0x00,
          255 - magnitude.length,
          ...magnitude.map((b) => b ^ 0xff),
        );
      } else out.push(BIGINT, 0x01, magnitude.length, ...magnitude);
    } else if (typeof part === "boolean") {
      out.push(BOOLEAN, part ? 1 : 0);
    } else {
      throw new TypeError(`Unsupported KV key part: ${typeof part}`);
    }
  }
  return new Uint8Array(out);
}

function readEscaped(bytes: Uint8Array, start: number): { value: Uint8Array; next: number } {
  const out: number[] = [];
  let i = start;
  for (;;) {
    if (i >= bytes.length) throw new RangeError("A KV key's bytes end inside a part");
    const byte = bytes[i++];
    if (byte !== 0x00) out.push(byte);
    else if (bytes[i] === 0xff) {
      out.push(0x00);
      i++;
    } else return { value: new Uint8Array(out), next: i };
  }
}

/** The key that {@linkcode encodeKey} turned into `bytes`. */
export function decodeKey(bytes: Uint8Array): Deno.KvKey {
  const key: Deno.KvKeyPart[] = [];
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++];
    if (tag === BYTES || tag === STRING) {
      const { value, next } = readEscaped(bytes, i);
      key.push(tag === BYTES ? value : decoder.decode(value));
      i = next;
    } else if (tag === NUMBER) {
      const raw = new Uint8Array(bytes.subarray(i, i + 8)); // a copy: a Buffer's slice is a view
      if (raw[0] & 0x80) raw[0] ^= 0x80;
      else for (let j = 0; j < 8; j++) raw[j] ^= 0xff;
      key.push(new DataView(raw.buffer).getFloat64(0));
      i += 8;
    } else if (tag === BIGINT) {
      const negative = bytes[i] === 0x00;
      const length = negative ? 255 - bytes[i + 1] : bytes[i + 1];
      let n = 0n;
      for (let j = 0; j < length; j++) {
        const byte = bytes[i + 2 + j];
        n = (n << 8n) | BigInt(negative ? byte ^ 0xff : byte);
      }
      key.push(negative ? -n : n);
      i += 2 + length;
    } else if (tag === BOOLEAN) {
      key.push(bytes[i++] === 1);
    } else {
      throw new RangeError(`Unknown KV key part tag ${tag} at byte ${i - 1}`);
    }
  }
  return key;
}

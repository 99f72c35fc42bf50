/**
 * What a `Deno.KvListSelector` means as bytes of encoded keys (`key_codec.ts`), and the
 * cursor of a listing: shared by the stores that keep KV's contract on SQL tables (the
 * collector's PostgreSQL store and the agent's SQLite file).
 *
 * @module
 */

import { encodeKey } from "./key_codec.ts";

/** `bytes` as base64url without padding (a listing's cursor). */
export function toBase64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The bytes of a base64url text (padding optional). */
export function fromBase64url(text: string): Uint8Array {
  const padded = text.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(
    atob(padded + "=".repeat((4 - padded.length % 4) % 4)),
    (c) => c.charCodeAt(0),
  );
}

function concat(a: Uint8Array, ...tail: number[]): Uint8Array {
  const out = new Uint8Array(a.length + tail.length);
  out.set(a);
  out.set(tail, a.length);
  return out;
}

/** The byte range `[from, to)` of a selector (`from` exclusive when `after`). */
export function listRange(
  selector: Deno.KvListSelector,
): { from: Uint8Array; after: boolean; to: Uint8Array } {
  if ("prefix" in selector) {
    const prefix = encodeKey(selector.prefix);
    const start = "start" in selector ? encodeKey(selector.start) : null;
    const end = "end" in selector ? encodeKey(selector.end) : null;
    return {
      from: start ?? prefix,
      after: start === null,
      to: end ?? concat(prefix, 0xff),
    };
  }
  const from = encodeKey(selector.start);
  const to = encodeKey(selector.end);
  if (compareBytes(from, to) > 0) throw new TypeError("Start key is greater than end key"); // as KV
  return { from, after: false, to };
}

/** Byte-wise order of `a` and `b`: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

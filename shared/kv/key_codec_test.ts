import assert from "node:assert/strict";
import { decodeKey, encodeKey } from "./key_codec.ts";

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function part(next: () => number): Deno.KvKeyPart {
  const pick = Math.floor(next() * 5);
  const strings = [
    "",
    "a",
    "a\u0000",
    "a\u0000b",
    "ab",
    "b",
    "é",
    "aé",
    "a\u0000é\u0000",
    "z",
    "\u{1F600}",
    "z\u{1F600}",
    "agent",
  ];
  const numbers = [0, -1, 1, 1.5, -1.5, 1e300, -1e300, 42, 7, Number.MAX_SAFE_INTEGER];
  const bigints = [0n, 1n, -1n, 255n, 256n, -256n, 2n ** 64n, -(2n ** 64n), 12345678901234567890n];
  if (pick === 0) {
    return Uint8Array.from({ length: Math.floor(next() * 3) }, () => (next() < 0.3 ? 0 : 255));
  }
  if (pick === 1) return strings[Math.floor(next() * strings.length)];
  if (pick === 2) return numbers[Math.floor(next() * numbers.length)];
  if (pick === 3) return bigints[Math.floor(next() * bigints.length)];
  return next() < 0.5;
}

Deno.test("encoded keys sort byte-wise exactly as Deno KV lists them, and decode back", async () => {
  const next = random(20261205);
  const kv = await Deno.openKv(":memory:");
  try {
    const keys: Deno.KvKey[] = [];
    for (let i = 0; i < 400; i++) {
      const key = Array.from({ length: 1 + Math.floor(next() * 3) }, () => part(next));
      keys.push(key);
      await kv.set(key, i);
    }
    const listed: Deno.KvKey[] = [];
    for await (const entry of kv.list({ prefix: [] })) listed.push(entry.key);
    const ours = [...new Map(keys.map((key) => [encodeKey(key).join(","), key])).values()]
      .sort((a, b) => compare(encodeKey(a), encodeKey(b)));
    assert.deepEqual(ours, listed);
    for (const key of listed) assert.deepEqual(decodeKey(encodeKey(key)), key);
  } finally {
    kv.close();
  }
});

Deno.test("a key part of an unsupported type is refused, naming the type", () => {
  assert.throws(() => encodeKey([{} as unknown as string]), /Unsupported KV key part: object/);
});

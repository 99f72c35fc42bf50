import assert from "node:assert/strict";
import { decodeValue, encodeValue } from "./value_codec.ts";

Deno.test("encodeValue() and decodeValue() keep bytes, bigints, dates, KvU64 and odd numbers", () => {
  const value = {
    bytes: new Uint8Array([0, 1, 255]),
    big: 12345678901234567890n,
    at: new Date("2026-05-01T12:00:00.123Z"),
    counter: new Deno.KvU64(18446744073709551615n),
    numbers: [NaN, Infinity, -Infinity, -0, 1.5],
    missing: undefined,
    $looksLikeATag: { $bigint: "1" },
    nested: [{ a: null, b: true, c: "x" }],
  };
  const encoded = encodeValue(value);
  const back = decodeValue(JSON.parse(JSON.stringify(encoded))) as typeof value;
  assert.deepEqual(back, value);
  assert.ok(back.counter instanceof Deno.KvU64);
  assert.ok(Object.is(back.numbers[3], -0));
});

Deno.test("encodeValue() refuses a Map, naming where it is", () => {
  assert.throws(() => encodeValue({ a: [new Map()] }, "value"), {
    name: "TypeError",
    message: "Cannot store value.a[0]: a Map is not supported",
  });
});

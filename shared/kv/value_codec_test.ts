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

Deno.test("plain JSON values are their own encoding; a tag deep inside one is still kept", () => {
  const plain = { a: [1, "x", null, true, { b: [] }], c: { d: 2.5 } };
  assert.equal(JSON.stringify(encodeValue(plain)), JSON.stringify(plain));
  const deep: [string, unknown][] = [
    ["-0", { a: [{ b: -0 }] }],
    ["undefined", { a: [{ b: undefined }] }],
    ["a $ key", { a: [{ $b: 1 }] }],
    ["a Date", { a: [{ b: new Date(0) }] }],
    ["NaN", [[NaN]]],
  ];
  for (const [what, value] of deep) {
    const back = decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));
    assert.deepEqual(back, value, what);
  }
});

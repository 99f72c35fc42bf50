import assert from "node:assert/strict";
import { normalizePost, relayKey } from "./relay_key.ts";

Deno.test("the same JSON post with other key order and spacing has the same key", async () => {
  const a = await relayKey("ops", '{"text": "rate 120/h", "icon": ":x:"}', "application/json");
  const b = await relayKey("ops", '{ "icon":":x:",\n "text":"rate 120/h" }', "application/json");
  assert.equal(a, b);
  assert.match(a, /^relay\|ops\|sha256\|[0-9a-f]{64}$/);
});

Deno.test("a different text, or another webhook, is another message", async () => {
  const a = await relayKey("ops", '{"text":"rate 120/h"}', "application/json");
  assert.notEqual(a, await relayKey("ops", '{"text":"rate 121/h"}', "application/json"));
  assert.notEqual(a, await relayKey("dock", '{"text":"rate 120/h"}', "application/json"));
});

Deno.test("the client's Idempotency-Key wins over the content", async () => {
  assert.equal(await relayKey("ops", "anything", "text/plain", "job-42"), "relay|ops|key|job-42");
});

Deno.test("a body that is not JSON is compared as trimmed text", () => {
  assert.equal(normalizePost("  hello\r\nworld \n", "text/plain"), "hello\nworld");
  assert.equal(normalizePost("{not json", "application/json"), "{not json");
});

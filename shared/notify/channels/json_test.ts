import assert from "node:assert/strict";
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from "./json.ts";
import { createChannel } from "./mod.ts";
import { withRecordingServer } from "./_recording_server.ts";
import { testAlert } from "./_test_alert.ts";
import type { ResolvedJsonWebhook } from "../webhook_schema.ts";

const SECRET = "0123456789abcdef-secret";
const NOW = Date.parse("2025-03-04T05:06:07.890Z");

function webhook(url: string): ResolvedJsonWebhook {
  return {
    name: "hook",
    kind: "json",
    url,
    secret: SECRET,
    headers: { "X-Team": "fc-ops" },
    maxAgeMs: 1,
    onUncertain: "skip",
    dedupeWindowMs: 1,
  };
}

/** What a receiver does: recompute the HMAC with WebCrypto and compare. */
async function verify(secret: string, timestamp: string, body: string, header: string) {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const hex = header.replace(/^sha256=/, "");
  const mac = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
  return await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    new TextEncoder().encode(`${timestamp}.${body}`),
  );
}

Deno.test("JSON channel posts the Alert signed with HMAC-SHA256 of timestamp.body", async () => {
  await withRecordingServer([], async (server) => {
    const channel = createChannel("hook", webhook(`${server.url}/in`), { fetch, now: () => NOW });
    const alert = testAlert();
    assert.ok((await channel.send({ type: "alert", alert }, {})).ok);
    const [req] = server.requests;
    assert.equal(req.headers.get("content-type"), "application/json");
    assert.equal(req.headers.get("x-team"), "fc-ops");
    assert.equal(req.headers.get(TIMESTAMP_HEADER), "1741064767");
    const signature = req.headers.get(SIGNATURE_HEADER)!;
    assert.match(signature, /^sha256=[0-9a-f]{64}$/);
    assert.ok(await verify(SECRET, "1741064767", req.body, signature));
    assert.equal(await verify("wrong-secret-000000", "1741064767", req.body, signature), false);
    const body = JSON.parse(req.body);
    assert.equal(body.type, "alert");
    assert.deepEqual(body.alert, alert);
    assert.match(body.text, /^\[FIRING\] CRITICAL /);
  });
});

Deno.test("JSON channel signs a relayed post as received, with its content type", async () => {
  await withRecordingServer([], async (server) => {
    const channel = createChannel("hook", webhook(server.url), { fetch, now: () => NOW });
    await channel.send({
      type: "relay",
      post: { body: "a=1&b=2", contentType: "application/x-www-form-urlencoded" },
    }, {});
    const [req] = server.requests;
    assert.equal(req.body, "a=1&b=2");
    assert.equal(req.headers.get("content-type"), "application/x-www-form-urlencoded");
    assert.equal(req.headers.get(SIGNATURE_HEADER), await signBody(SECRET, 1741064767, "a=1&b=2"));
  });
});

Deno.test("JSON channel keeps the secret out of a failure", async () => {
  await withRecordingServer([{ status: 401, body: `bad secret ${SECRET}` }], async (server) => {
    const channel = createChannel("hook", webhook(server.url), { fetch });
    const result = await channel.send({ type: "test", text: "hi" }, {});
    assert.ok(!result.ok && !result.retryable);
    assert.equal(result.answer, "bad secret [redacted]");
    assert.doesNotMatch(result.error, new RegExp(SECRET));
  });
});

import assert from "node:assert/strict";
import { CHIME_MAX_CHARS, chimeMessage } from "./chime.ts";
import { createChannel } from "./mod.ts";
import { withRecordingServer } from "./_recording_server.ts";
import { testAlert } from "./_test_alert.ts";

Deno.test("Chime channel posts {Content} with a /md Markdown message", async () => {
  await withRecordingServer([], async (server) => {
    const channel = createChannel("chime", {
      name: "chime",
      kind: "chime",
      url: `${server.url}/incomingwebhooks/abc?token=xyz`,
      maxAgeMs: 1,
      onUncertain: "skip",
      dedupeWindowMs: 1,
    }, { fetch });
    const result = await channel.send({ type: "alert", alert: testAlert() }, {});
    assert.ok(result.ok);
    const [req] = server.requests;
    assert.equal(req.path, "/incomingwebhooks/abc?token=xyz");
    assert.equal(req.headers.get("content-type"), "application/json");
    const body = JSON.parse(req.body);
    assert.deepEqual(Object.keys(body), ["Content"]);
    assert.match(body.Content, /^\/md \[FIRING\] CRITICAL rates is crash-looping/);
    assert.match(body.Content, /\n```\nTraceback/);
  });
});

Deno.test("chimeMessage() stays within Chime's 4096 characters", () => {
  const alert = testAlert({ text: "x".repeat(10_000) });
  assert.equal(chimeMessage({ type: "alert", alert }).Content.length, CHIME_MAX_CHARS);
  assert.deepEqual(chimeMessage({ type: "test", text: "hi" }), { Content: "/md [TEST] hi" });
});

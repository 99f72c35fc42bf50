import assert from "node:assert/strict";
import { createChannel } from "./mod.ts";
import { escapeMrkdwn, slackMessage } from "./slack.ts";
import { withRecordingServer } from "./_recording_server.ts";
import { testAlert } from "./_test_alert.ts";
import type { ResolvedChatWebhook } from "../webhook_schema.ts";

function webhook(url: string): ResolvedChatWebhook {
  return { name: "ops", kind: "slack", url, maxAgeMs: 1, onUncertain: "skip", dedupeWindowMs: 1 };
}

Deno.test("Slack channel posts text and mrkdwn blocks as JSON to the webhook URL", async () => {
  await withRecordingServer([], async (server) => {
    const channel = createChannel("ops", webhook(`${server.url}/services/T0/B0/XXX`), { fetch });
    const result = await channel.send({ type: "alert", alert: testAlert() }, {});
    assert.deepEqual(result, { ok: true, status: 200, answer: "ok" });
    const [req] = server.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.path, "/services/T0/B0/XXX");
    assert.equal(req.headers.get("content-type"), "application/json");
    const body = JSON.parse(req.body);
    assert.equal(typeof body.text, "string");
    assert.equal(
      body.text,
      "[FIRING] CRITICAL rates is crash-looping on PICK-WS-07 (BFI4) (+1 more)",
    );
    assert.equal(body.blocks[0].type, "header");
    assert.equal(body.blocks[0].text.type, "plain_text");
    for (const block of body.blocks.slice(1)) {
      assert.ok(["section", "context"].includes(block.type));
      for (const text of [block.text, ...(block.fields ?? []), ...(block.elements ?? [])]) {
        if (text !== undefined) {
          assert.equal(text.type, "mrkdwn");
          assert.ok(text.text.length <= 3000);
        }
      }
    }
    assert.ok(
      body.blocks.some((b: { text?: { text: string } }) =>
        b.text?.text.includes("```\nTraceback (most recent call last):") &&
        b.text.text.includes("KeyError: &lt;token&gt;")
      ),
    );
    assert.ok(body.blocks[2].fields.length <= 10);
  });
});

Deno.test("Slack channel relays a script's post byte for byte with its content type", async () => {
  await withRecordingServer([], async (server) => {
    const channel = createChannel("ops", webhook(server.url), { fetch });
    const body = '{"text":"queue depth 512 ✓"}';
    await channel.send({
      type: "relay",
      post: { body, contentType: "application/json; charset=utf-8" },
    }, {});
    assert.equal(server.requests[0].body, body);
    assert.equal(server.requests[0].headers.get("content-type"), "application/json; charset=utf-8");
  });
});

Deno.test("slackMessage() escapes mrkdwn, says RESOLVED and renders the link", () => {
  const message = slackMessage({
    type: "alert",
    alert: testAlert({ status: "resolved", group: undefined, text: "a < b & c" }),
  });
  assert.match(message.text, /^\[RESOLVED\] /);
  assert.deepEqual(message.blocks[1], {
    type: "section",
    text: { type: "mrkdwn", text: "Resolved: a &lt; b &amp; c" },
  });
  assert.deepEqual(message.blocks.at(-1), {
    type: "context",
    elements: [{
      type: "mrkdwn",
      text: "<https://scriptmon.example/scripts/BFI4/PICK-WS-07/rates|Open in scriptmon>",
    }],
  });
  assert.equal(escapeMrkdwn("<@U1>"), "&lt;@U1&gt;");
});

Deno.test("slackMessage() renders a test message as one section", () => {
  assert.deepEqual(slackMessage({ type: "test", text: "hello" }), {
    text: "[TEST] hello",
    blocks: [{ type: "section", text: { type: "mrkdwn", text: "[TEST] hello" } }],
  });
});

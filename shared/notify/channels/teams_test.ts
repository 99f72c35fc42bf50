import assert from "node:assert/strict";
import { createChannel } from "./mod.ts";
import { teamsMessage } from "./teams.ts";
import { withRecordingServer } from "./_recording_server.ts";
import { testAlert } from "./_test_alert.ts";

Deno.test("Teams channel posts a Workflows message with one Adaptive Card attachment", async () => {
  await withRecordingServer([{ status: 202 }], async (server) => {
    const channel = createChannel("teams", {
      name: "teams",
      kind: "teams",
      url: `${server.url}/workflows/abc/triggers/manual/paths/invoke?sig=s`,
      maxAgeMs: 1,
      onUncertain: "skip",
      dedupeWindowMs: 1,
    }, { fetch });
    const result = await channel.send({ type: "alert", alert: testAlert() }, {});
    assert.deepEqual(result, { ok: true, status: 202, answer: "" });
    const [req] = server.requests;
    assert.equal(req.headers.get("content-type"), "application/json");
    const body = JSON.parse(req.body);
    assert.equal(body.type, "message");
    assert.equal(body.attachments.length, 1);
    const [attachment] = body.attachments;
    assert.equal(attachment.contentType, "application/vnd.microsoft.card.adaptive");
    const card = attachment.content;
    assert.equal(card.type, "AdaptiveCard");
    assert.equal(card.$schema, "http://adaptivecards.io/schemas/adaptive-card.json");
    assert.equal(card.version, "1.4");
    assert.equal(card.body[0].type, "TextBlock");
    assert.equal(card.body[0].color, "Attention");
    const facts = card.body.find((e: { type: string }) => e.type === "FactSet").facts;
    assert.deepEqual(facts.slice(0, 3), [
      { title: "Site", value: "BFI4" },
      { title: "Host", value: "PICK-WS-07" },
      { title: "Script", value: "rates" },
    ]);
    const code = card.body.find((e: { type: string }) => e.type === "Container");
    assert.equal(code.items[0].fontType, "Monospace");
    assert.equal(code.items[2].text, "KeyError: <token>");
    assert.deepEqual(card.actions, [{
      type: "Action.OpenUrl",
      title: "Open in scriptmon",
      url: "https://scriptmon.example/scripts/BFI4/PICK-WS-07/rates",
    }]);
  });
});

Deno.test("teamsMessage() colours a resolved alert Good and a test is one TextBlock", () => {
  const resolved = teamsMessage({ type: "alert", alert: testAlert({ status: "resolved" }) });
  const first = resolved.attachments[0].content.body[0];
  assert.ok(first.type === "TextBlock" && first.color === "Good");
  const test = teamsMessage({ type: "test", text: "hi" }).attachments[0].content;
  assert.deepEqual(test.body, [{ type: "TextBlock", text: "[TEST] hi", wrap: true }]);
  assert.equal(test.actions, undefined);
});

import assert from "node:assert/strict";
import { discordMessage } from "./discord.ts";
import { createChannel } from "./mod.ts";
import { withRecordingServer } from "./_recording_server.ts";
import { testAlert } from "./_test_alert.ts";

Deno.test("Discord channel posts one embed within Discord's limits, mentions disabled", async () => {
  await withRecordingServer([{ status: 204 }], async (server) => {
    const channel = createChannel("discord", {
      name: "discord",
      kind: "discord",
      url: `${server.url}/api/webhooks/123/abc`,
      maxAgeMs: 1,
      onUncertain: "skip",
      dedupeWindowMs: 1,
    }, { fetch });
    const result = await channel.send({ type: "alert", alert: testAlert() }, {});
    assert.deepEqual(result, { ok: true, status: 204, answer: "" });
    const body = JSON.parse(server.requests[0].body);
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    assert.equal(body.embeds.length, 1);
    const [embed] = body.embeds;
    assert.ok(embed.title.length <= 256);
    assert.ok(embed.description.length <= 4096);
    assert.ok(embed.fields.length <= 25);
    assert.equal(embed.timestamp, "2025-03-04T05:06:07.000Z");
    assert.equal(embed.url, "https://scriptmon.example/scripts/BFI4/PICK-WS-07/rates");
    assert.match(embed.description, /```\nTraceback/);
    assert.deepEqual(embed.fields.at(-1), {
      name: "Also affected (1)",
      value: "- PICK-WS-08 (BFI4) rates: exit code 2",
      inline: false,
    });
  });
});

Deno.test("discordMessage() keeps a huge alert within 6000 embed characters", () => {
  const alert = testAlert({ text: "y".repeat(9000), stderrTail: Array(50).fill("z".repeat(300)) });
  const [embed] = discordMessage({ type: "alert", alert }).embeds!;
  const total = embed.title.length + embed.description.length +
    embed.fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  assert.ok(total <= 6000, `total ${total}`);
});

Deno.test("discordMessage() sends a test as content of at most 2000 characters", () => {
  const message = discordMessage({ type: "test", text: "t".repeat(3000) });
  assert.equal(message.content!.length, 2000);
  assert.equal(message.embeds, undefined);
});

import assert from "node:assert/strict";
import { createChannel } from "./mod.ts";
import { withRecordingServer } from "./_recording_server.ts";
import { testAlert } from "./_test_alert.ts";
import type { ResolvedTwilioWebhook } from "../webhook_schema.ts";

const SID = "AC0123456789abcdef0123456789abcdef";
const TOKEN = "twilio-auth-token-xyz";

function webhook(apiBase: string, to = ["+14155550101", "+14155550102"]): ResolvedTwilioWebhook {
  return {
    name: "pager",
    kind: "sms",
    provider: "twilio",
    accountSid: SID,
    authToken: TOKEN,
    from: "+14155550100",
    to,
    apiBase,
    maxAgeMs: 1,
    onUncertain: "skip",
    dedupeWindowMs: 1,
  };
}

const CREATED = { status: 201, body: '{"sid":"SM1","status":"queued"}' };

Deno.test("Twilio channel posts one form-encoded message per recipient with Basic auth", async () => {
  await withRecordingServer([CREATED, CREATED], async (server) => {
    const channel = createChannel("pager", webhook(server.url), { fetch });
    const result = await channel.send({ type: "alert", alert: testAlert() }, {});
    assert.deepEqual(result, { ok: true, status: 201, answer: "sent to 2 recipients" });
    assert.equal(server.requests.length, 2);
    for (const [i, req] of server.requests.entries()) {
      assert.equal(req.method, "POST");
      assert.equal(req.path, `/2010-04-01/Accounts/${SID}/Messages.json`);
      assert.equal(req.headers.get("content-type"), "application/x-www-form-urlencoded");
      assert.equal(req.headers.get("authorization"), `Basic ${btoa(`${SID}:${TOKEN}`)}`);
      const form = new URLSearchParams(req.body);
      assert.deepEqual([...form.keys()], ["To", "From", "Body"]);
      assert.equal(form.get("To"), `+1415555010${i + 1}`);
      assert.equal(form.get("From"), "+14155550100");
      assert.ok(form.get("Body")!.length <= 320);
      assert.match(form.get("Body")!, /^FIRING: CRITICAL rates is crash-looping/);
    }
  });
});

Deno.test("Twilio channel retries only the recipients that failed", async () => {
  await withRecordingServer(
    [CREATED, { status: 503, headers: { "retry-after": "2" } }, CREATED],
    async (server) => {
      const channel = createChannel("pager", webhook(server.url), { fetch });
      const payload = { type: "alert" as const, alert: testAlert() };
      const first = await channel.send(payload, {});
      assert.ok(!first.ok && first.retryable && first.retryAfterMs === 2000);
      assert.match(
        first.error,
        /^1 of 2 recipients failed \(1 reached\): \+14155550102: provider answered 503/,
      );
      const second = await channel.send(payload, {});
      assert.ok(second.ok);
      const to = server.requests.map((r) => new URLSearchParams(r.body).get("To"));
      assert.deepEqual(to, ["+14155550101", "+14155550102", "+14155550102"]);
    },
  );
});

Deno.test("Twilio channel makes a 400 permanent, keeps the token out and refuses relays", async () => {
  await withRecordingServer(
    [{ status: 400, body: '{"code":21211,"message":"Invalid To Phone Number"}' }],
    async (server) => {
      const channel = createChannel("pager", webhook(server.url, ["+14155550101"]), { fetch });
      const result = await channel.send({ type: "test", text: "hi" }, {});
      assert.ok(!result.ok && !result.retryable && result.status === 400);
      assert.match(result.error, /Invalid To Phone Number/);
      assert.doesNotMatch(JSON.stringify(result), new RegExp(TOKEN));
      const relay = await channel.send({
        type: "relay",
        post: { body: "x", contentType: "text/plain" },
      }, {});
      assert.deepEqual(relay, {
        ok: false,
        retryable: false,
        error:
          'Webhook "pager" cannot relay a script\'s post: relaying works only for slack, chime, teams, discord and json webhooks',
      });
    },
  );
});

/**
 * Delivery that never resends blindly and catches up at once, with a real
 * agent and local servers standing in for the webhook: a provider that takes
 * a post but answers after the agent's send timeout gets it once (the
 * message is `uncertain`, not retried); every request carries the message's
 * id as `Idempotency-Key` (and the JSON channel's body as `id`); a webhook
 * that was down is caught up within seconds of answering again.
 */
import assert from "node:assert/strict";
import { startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";
import { REQUEST_TIMEOUT_MS } from "../shared/notify/channels/mod.ts";
import { writeConfig } from "./_agent_process.ts";
import { tempDir, until } from "./_helpers.ts";
import { Recorder } from "./_recorder.ts";

async function withAgent(
  toml: string,
  fn: (base: string, agent: Awaited<ReturnType<typeof startAgent>>) => Promise<void>,
) {
  await using dir = await tempDir();
  const agent = await startAgent({
    config: await loadConfig(await writeConfig(dir.path, toml)),
    watch: false,
  });
  try {
    await fn(`http://127.0.0.1:${agent.apiPort}`, agent);
  } finally {
    await agent.shutdown();
  }
}

async function relay(base: string, text: string): Promise<string> {
  const res = await fetch(`${base}/relay/ops`, { method: "POST", body: JSON.stringify({ text }) });
  assert.equal(res.status, 202);
  return (await res.json()).id;
}

Deno.test({
  name: "a provider that answers after the send timeout gets the post once, marked uncertain",
  fn: async () => {
    const seen: { key: string | null; body: string }[] = [];
    const late = Promise.withResolvers<void>();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      seen.push({ key: req.headers.get("idempotency-key"), body: await req.text() });
      // It took the message; its answer comes after the agent stopped waiting.
      await Promise.race([
        late.promise,
        new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + 2000)),
      ]);
      return new Response("ok");
    });
    try {
      const url = `http://127.0.0.1:${server.addr.port}/hook`;
      await withAgent(`[webhooks.ops]\nkind = "slack"\nurl = "${url}"\n\n`, async (base, agent) => {
        const id = await relay(base, "dock 4: rate 120/h");
        const record = await until("the message settled", async () => {
          const found = await agent.notifier.outbox.get(id);
          return found && found.state !== "queued" && found.state !== "sending" ? found : undefined;
        }, REQUEST_TIMEOUT_MS + 10_000);
        assert.equal(record.state, "uncertain", JSON.stringify(record.history));
        // Past the backoff a resend would have used: still one request.
        await new Promise((r) => setTimeout(r, 3_000));
        assert.equal(seen.length, 1, "delivered once, never resent blindly");
        assert.equal(seen[0].key, id, "the message id as Idempotency-Key");
      });
    } finally {
      late.resolve();
      await server.shutdown();
    }
  },
});

Deno.test("the JSON channel's body carries the message id, the same as its Idempotency-Key", async () => {
  await using receiver = new Recorder();
  const toml = `[webhooks.ops]\nkind = "json"\nurl = "${receiver.url()}"\n` +
    `secret = "0123456789abcdef0123"\n\n`;
  await withAgent(toml, async (_base, agent) => {
    await agent.notifier.outbox.enqueue({
      channel: "ops",
      dedupeKey: "test|ops|1",
      payload: { type: "test", text: "hello" },
    });
    await receiver.received(1);
    const [request] = receiver.requests;
    const body = JSON.parse(request.body);
    assert.equal(typeof body.id, "string");
    assert.equal(request.headers["idempotency-key"], body.id);
  });
});

Deno.test("a webhook down for a while is caught up within seconds of answering again", async () => {
  // A port that refuses connections until the recorder opens it.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const toml = `[webhooks.ops]\nkind = "slack"\nurl = "http://127.0.0.1:${port}/hook"\n\n`;
  await withAgent(toml, async (base) => {
    for (let i = 0; i < 5; i++) await relay(base, `in order ${i}`);
    // Down long enough that a doubling backoff (1, 2, 4, 8, 16, 32 s) would wait half a minute.
    await new Promise((r) => setTimeout(r, 35_000));
    await using slack = new Recorder(port);
    const up = Date.now();
    await slack.received(5, 30_000);
    const caughtUp = Date.now() - up;
    assert.ok(caughtUp < 8_000, `caught up ${caughtUp} ms after the webhook answered again`);
    assert.deepEqual(
      slack.requests.map((r) => JSON.parse(r.body).text),
      Array.from({ length: 5 }, (_, i) => `in order ${i}`),
    );
  });
});

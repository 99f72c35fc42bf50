/**
 * The chaos test on the real agent: 1,000 distinct messages relayed
 * through `agent run` while it is SIGKILLed at random points and restarted,
 * 20 times. A client that got no answer posts the same message again (as a
 * script with a retry loop would). Afterwards the provider got every message
 * at most once, and every message not marked uncertain exactly once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, writeConfig } from "./_agent_process.ts";
import { tempDir, until } from "./_helpers.ts";
import { Recorder } from "./_recorder.ts";
import type { MessageRecord } from "../shared/notify/mod.ts";

const MESSAGES = 1000;
const ROUNDS = 20;

/** Posts `chaos <i>` for every i not yet accepted until `stopAt`, 5 at a time. */
async function relayUntil(port: number, pending: Set<number>, stopAt: number): Promise<void> {
  const queue = [...pending];
  const worker = async () => {
    while (queue.length > 0 && Date.now() < stopAt) {
      const i = queue.shift()!;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/relay/ops`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text: `chaos ${i}` }),
        });
        await res.body?.cancel();
        if (res.status === 202 || res.status === 200) pending.delete(i);
      } catch {
        // the agent was killed mid-request: this one is posted again next round
      }
    }
  };
  await Promise.all(Array.from({ length: 5 }, worker));
}

async function api<T>(agent: AgentProcess, path: string): Promise<T> {
  const secret = (await Deno.readTextFile(join(agent.dataDir, "control.secret"))).trim();
  const port = await agent.ready();
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  return await res.json();
}

Deno.test("the agent SIGKILLed 20 times while relaying 1,000 messages: none twice, each certain one once", async () => {
  await using dir = await tempDir("scriptmon-agent-chaos-");
  await using slack = new Recorder();
  const config = await writeConfig(
    dir.path,
    `[webhooks.ops]\nkind = "slack"\nurl = "${slack.url()}"\ndedupe_window = "1h"\n`,
  );
  const pending = new Set(Array.from({ length: MESSAGES }, (_, i) => i));
  for (let round = 0; round < ROUNDS; round++) {
    const agent = new AgentProcess(config);
    const port = await agent.ready();
    const killAt = Date.now() + 50 + Math.random() * 350;
    const killer = new Promise<void>((resolve) =>
      setTimeout(() => {
        agent.child.kill("SIGKILL");
        resolve();
      }, killAt - Date.now())
    );
    await relayUntil(port, pending, killAt + 1000);
    await killer;
    const status = await agent.child.status;
    await agent[Symbol.asyncDispose]();
    assert.equal(status.signal, "SIGKILL", `round ${round}: the agent ended before it was killed`);
  }

  const leftForLast = pending.size;
  assert.ok(
    leftForLast < MESSAGES / 2,
    `most messages go through the killed runs (${leftForLast} left)`,
  );
  // A last, undisturbed run takes what is left and delivers everything queued.
  await using last = new AgentProcess(config);
  const port = await last.ready();
  await relayUntil(port, pending, Date.now() + 60_000);
  assert.equal(pending.size, 0, "every message was accepted in the end");
  await until("every message to reach a final state", async () => {
    const { counts } = await api<{ counts: Record<string, number> }>(
      last,
      "/api/notifications?limit=1",
    );
    return counts.queued + counts.retrying + counts.sending === 0 && counts.sent > 0;
  }, 60_000);
  const { messages } = await api<{ messages: MessageRecord[] }>(
    last,
    `/api/notifications?limit=${2 * MESSAGES}`,
  );

  const received = new Map<string, number>();
  for (const r of slack.requests) {
    const text = JSON.parse(r.body).text as string;
    received.set(text, (received.get(text) ?? 0) + 1);
  }
  assert.equal(messages.length, MESSAGES, "one stored message per distinct post");
  for (const [text, n] of received) assert.equal(n, 1, `"${text}" was delivered ${n} times`);
  let uncertain = 0;
  for (const m of messages) {
    if (m.payload.type !== "relay") throw new Error("only relayed posts expected");
    const text = JSON.parse(m.payload.post.body).text;
    if (m.state === "uncertain") {
      uncertain++;
      continue;
    }
    assert.equal(m.state, "sent", `${text} ended ${m.state}`);
    assert.equal(
      received.get(text),
      1,
      `${text} is sent but arrived ${received.get(text) ?? 0} times`,
    );
  }
  console.log(
    `${uncertain} of ${MESSAGES} messages uncertain after ${ROUNDS} kills; ` +
      `${leftForLast} were first accepted by the last run`,
  );
});

/**
 * The outbox under SIGKILL: a worker process queues and delivers 1,000
 * messages to a recorder and is killed at random 20 times. Afterwards no
 * message was received twice, and every message not marked "uncertain" was
 * received exactly once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openKv } from "../agent/mod.ts";
import { Outbox } from "../shared/notify/mod.ts";
import { denoFixture, tempDir, until } from "./_helpers.ts";
import { startRecorder } from "./_outbox_recorder.ts";

const MESSAGES = 1000;
const ROUNDS = 20;

function startWorker(path: string, url: string): Deno.ChildProcess {
  const [cmd, ...args] = denoFixture("outbox_worker.ts", path, url, String(MESSAGES));
  return new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
}

Deno.test("outbox killed 20 times mid-delivery: no message twice, each certain one exactly once", async () => {
  const started = Date.now();
  await using dir = await tempDir("scriptmon-outbox-chaos-");
  const path = join(dir.path, "kv.sqlite3");
  // Answers after 0-5 ms, to widen the window between a post arriving and its "sent" mark.
  await using recorder = startRecorder(() => ({ status: 200, delayMs: Math.random() * 5 }));
  for (let round = 0; round < ROUNDS; round++) {
    const worker = startWorker(path, recorder.url);
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 350));
    worker.kill("SIGKILL");
    const { signal } = await worker.output();
    assert.equal(signal, "SIGKILL", `round ${round}: the worker ended before it was killed`);
  }
  const killedPhaseMs = Date.now() - started;

  const kv = await openKv(path);
  const outbox = new Outbox(kv, { channels: new Map() });
  const worker = startWorker(path, recorder.url);
  try {
    await until("every message to reach a final state", async () => {
      const c = await outbox.counts();
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      return total === MESSAGES && c.queued + c.retrying + c.sending === 0;
    }, 60_000);
  } finally {
    worker.kill("SIGKILL");
    const { stderr } = await worker.output();
    const text = new TextDecoder().decode(stderr).trim();
    if (text) console.error(`worker stderr:\n${text}`);
  }
  const records = await outbox.list({ limit: 2 * MESSAGES });
  const counts = await outbox.counts();
  kv.close();

  assert.equal(records.length, MESSAGES);
  const byKey = new Map(records.map((r) => [r.dedupeKey, r]));
  assert.equal(byKey.size, MESSAGES);
  let uncertain = 0;
  let uncertainReceived = 0;
  for (let i = 0; i < MESSAGES; i++) {
    const record = byKey.get(`msg-${i}`);
    const received = recorder.count(`msg-${i}`);
    assert.ok(record, `msg-${i} is missing from the outbox`);
    assert.ok(received <= 1, `msg-${i} was received ${received} times`);
    if (record.state === "uncertain") {
      uncertain++;
      uncertainReceived += received;
    } else {
      assert.equal(record.state, "sent", `msg-${i}`);
      assert.equal(received, 1, `msg-${i} is sent but was received ${received} times`);
    }
  }
  assert.equal(counts.sent + counts.uncertain, MESSAGES);
  console.log(
    `outbox chaos: ${ROUNDS} kills in ${killedPhaseMs} ms, ${Date.now() - started} ms in all; ` +
      `${uncertain} uncertain (${uncertainReceived} of them had reached the recorder)`,
  );
});

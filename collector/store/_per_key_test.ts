import assert from "node:assert/strict";
import { PerKeyQueue } from "./_per_key.ts";

Deno.test("work under one key runs one at a time, in order; other keys meanwhile; a failure does not stop the queue", async () => {
  const queue = new PerKeyQueue();
  const log: string[] = [];
  const gates = new Map<string, PromiseWithResolvers<void>>();
  const job = (name: string, fail = false) => async () => {
    log.push(`${name} starts`);
    const gate = Promise.withResolvers<void>();
    gates.set(name, gate);
    await gate.promise;
    log.push(`${name} ends`);
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
  const a1 = queue.run("a", job("a1", true));
  const a2 = queue.run("a", job("a2"));
  const b1 = queue.run("b", job("b1"));
  await Promise.resolve();
  assert.deepEqual(log, ["a1 starts", "b1 starts"]);
  gates.get("b1")!.resolve();
  assert.equal(await b1, "b1");
  for (let i = 0; i < 10 && queue.size > 1; i++) await Promise.resolve();
  assert.equal(queue.size, 1, "b's queue is gone once its work settled");
  gates.get("a1")!.resolve();
  await assert.rejects(a1, /a1 failed/);
  for (let i = 0; i < 10 && !gates.has("a2"); i++) await Promise.resolve();
  assert.deepEqual(log, ["a1 starts", "b1 starts", "b1 ends", "a1 ends", "a2 starts"]);
  gates.get("a2")!.resolve();
  assert.equal(await a2, "a2");
  for (let i = 0; i < 10 && queue.size > 0; i++) await Promise.resolve();
  assert.equal(queue.size, 0);
});

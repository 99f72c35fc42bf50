import assert from "node:assert/strict";
import { CommandWaiters } from "./command_waiters.ts";

Deno.test("wake() ends the waits of that agent only", async () => {
  const waiters = new CommandWaiters({ max: 10 });
  const a = waiters.open("BFI4/ws-01", 10_000)!;
  const b = waiters.open("BFI4/ws-02", 10_000)!;
  assert.equal(waiters.wake("BFI4/ws-01"), 1);
  assert.equal(await a.outcome, "woken");
  assert.equal(waiters.size, 1);
  b.close();
  assert.equal(await b.outcome, "closed");
  assert.equal(waiters.size, 0);
});

Deno.test("open() refuses beyond max and frees the slot when a wait ends", async () => {
  const waiters = new CommandWaiters({ max: 1 });
  const first = waiters.open("a", 1)!;
  assert.equal(waiters.open("b", 1), null);
  assert.equal(await first.outcome, "timeout");
  const again = waiters.open("b", 10_000)!;
  assert.ok(again);
  waiters.closeAll();
  assert.equal(await again.outcome, "closed");
});

Deno.test("an aborted request ends its wait", async () => {
  const waiters = new CommandWaiters({ max: 1 });
  const controller = new AbortController();
  const waiter = waiters.open("a", 10_000, controller.signal)!;
  controller.abort();
  assert.equal(await waiter.outcome, "aborted");
  assert.equal(waiters.size, 0);
});

Deno.test("a second wait of the same agent ends its first, so one agent holds one slot", async () => {
  const waiters = new CommandWaiters({ max: 2 });
  const first = waiters.open("BFI4/ws-01", 10_000)!;
  const second = waiters.open("BFI4/ws-01", 10_000)!;
  assert.equal(await first.outcome, "timeout");
  const other = waiters.open("BFI4/ws-02", 10_000);
  assert.ok(other, "another agent still gets a slot");
  second.close();
  other.close();
});

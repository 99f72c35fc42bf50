import assert from "node:assert/strict";
import { SilenceCheck } from "./silence.ts";

const config = { timeoutMs: 30_000, action: { alert: true, restart: true } };

Deno.test("no output for silence_timeout is a hang; the next line ends it", () => {
  const s = new SilenceCheck(config, { now: 0 });
  s.runStarted(0);
  assert.equal(s.evaluate(1000)?.status, "ok");
  s.output(10_000);
  assert.equal(s.deadline(), 40_000);
  assert.equal(s.evaluate(39_999), null);
  const hung = s.evaluate(40_000);
  assert.equal(hung?.status, "failing");
  assert.equal(hung?.reason, "no output for 30s (silence_timeout 30s)");
  assert.equal(s.output(41_000)?.status, "ok");
});

Deno.test("a script that is not running is not silent", () => {
  const s = new SilenceCheck(config, { now: 0 });
  assert.equal(s.deadline(), null);
  s.runStarted(0);
  assert.equal(s.evaluate(1000)?.status, "ok");
  assert.equal(s.runEnded(5000)?.status, "unknown");
  assert.equal(s.deadline(), null);
  assert.equal(s.output(6000), null);
});

Deno.test("a hung script asks for no further timer until it prints", () => {
  const s = new SilenceCheck(config, { now: 0 });
  s.runStarted(0);
  s.evaluate(30_000);
  assert.equal(s.state.status, "failing");
  assert.equal(s.nextCheckAt(), null, "a timer in the past would spin");
  s.output(31_000);
  assert.equal(s.nextCheckAt(), 61_000);
});

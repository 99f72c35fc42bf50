import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";
import type { ResolvedRestartPolicy } from "../../shared/agent_config/types.ts";

const policy: ResolvedRestartPolicy = {
  policy: "always",
  minDelayMs: 1000,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 0,
  resetAfterMs: 60_000,
  maxRestarts: 5,
  windowMs: 60_000,
};

/** Crash `n` times, each run lasting `runMs`, starting at `t0`; returns the delays. */
function crash(b: Backoff, n: number, runMs: number, t0 = 0): number[] {
  const delays: number[] = [];
  let t = t0;
  for (let i = 0; i < n; i++) {
    const d = b.next(t, t + runMs);
    delays.push(d.delayMs);
    t += runMs + d.delayMs;
  }
  return delays;
}

Deno.test("next() doubles the delay from min_delay on consecutive crashes", () => {
  const b = new Backoff({ ...policy, maxRestarts: 100, windowMs: 1 });
  assert.deepEqual(crash(b, 4, 10), [1000, 2000, 4000, 8000]);
});

Deno.test("next() caps at max_delay after many crashes", () => {
  const b = new Backoff({ ...policy, maxRestarts: 100, windowMs: 1 });
  assert.deepEqual(crash(b, 8, 10).slice(-3), [30_000, 30_000, 30_000]);
});

Deno.test("a run that lasts reset_after resets the backoff to min_delay", () => {
  const b = new Backoff({ ...policy, maxRestarts: 100, windowMs: 1 });
  crash(b, 3, 10);
  assert.equal(b.next(100_000, 100_000 + 60_000).delayMs, 1000);
  assert.equal(b.attempt, 1);
});

Deno.test("more than max_restarts within window is a crash loop that waits max_delay", () => {
  const b = new Backoff({ ...policy, minDelayMs: 0 });
  const decisions = Array.from({ length: 7 }, (_, i) => b.next(i * 100, i * 100 + 50));
  assert.deepEqual(decisions.map((d) => d.crashLooping), [
    false,
    false,
    false,
    false,
    false,
    true,
    true,
  ]);
  assert.equal(decisions[5].delayMs, 30_000);
  assert.equal(decisions[6].restartsInWindow, 7);
});

Deno.test("restarts older than window no longer count toward a crash loop", () => {
  const b = new Backoff({ ...policy, minDelayMs: 0 });
  for (let i = 0; i < 5; i++) b.next(i, i + 1);
  const later = b.next(200_000, 200_001);
  assert.equal(later.crashLooping, false);
  assert.equal(later.restartsInWindow, 1);
});

Deno.test("jitter spreads the delay within ±jitter of the base", () => {
  const low = new Backoff({ ...policy, jitter: 0.2 }, { random: () => 0 });
  const high = new Backoff({ ...policy, jitter: 0.2 }, { random: () => 0.999999 });
  assert.equal(low.next(0, 10).delayMs, 800);
  assert.equal(high.next(0, 10).delayMs, 1200);
});

Deno.test("min_delay 0 restarts at once", () => {
  const b = new Backoff({ ...policy, minDelayMs: 0, jitter: 0.5 });
  assert.equal(b.next(0, 10).delayMs, 0);
});

import assert from "node:assert/strict";
import { MemoryGrowth } from "./memory_growth.ts";

const MB = 1_000_000;
const MIN = 60_000;
const T0 = Date.parse("2026-12-07T08:00:00Z");

Deno.test("a steady climb is a warning that says how fast and when it reaches the limit", () => {
  const growth = new MemoryGrowth({ memoryRestartBytes: 500 * MB, samples: 3 }, T0);
  let changed = null;
  // 200 MB growing 30 MB an hour, a sample every 10 s (kept one a minute).
  for (let at = T0; at <= T0 + 180 * MIN; at += 10_000) {
    changed = growth.sample(200 * MB + (at - T0) / (60 * MIN) * 30 * MB, at) ?? changed;
  }
  assert.equal(changed?.status, "warning");
  assert.equal(changed?.name, "memory-growth");
  assert.equal(
    growth.state.reason,
    "grows ~30 MB/h; reaches 500 MB in about 7 h (memory_restart)",
  );
});

Deno.test("flat memory with noise, or a new run, says nothing; memory_warn is the nearer limit", () => {
  const growth = new MemoryGrowth(
    { memoryWarnBytes: 300 * MB, memoryRestartBytes: 500 * MB, samples: 3 },
    T0,
  );
  for (let i = 0; i <= 60; i++) {
    growth.sample(200 * MB + (i % 2 === 0 ? 3 : -3) * MB, T0 + i * MIN);
  }
  assert.equal(growth.state.status, "ok");
  for (let i = 61; i <= 240; i++) growth.sample(200 * MB + (i - 60) * 0.5 * MB, T0 + i * MIN);
  assert.equal(growth.state.status, "warning");
  assert.match(growth.state.reason, /reaches 300 MB in about .* \(memory_warn\)$/);
  growth.reset();
  assert.equal(growth.sample(150 * MB, T0 + 241 * MIN)?.status, "ok", "one sample is no climb");
});

Deno.test("past memory_warn, the climb is projected to memory_restart", () => {
  const growth = new MemoryGrowth(
    { memoryWarnBytes: 200 * MB, memoryRestartBytes: 500 * MB, samples: 3 },
    T0,
  );
  for (let i = 0; i <= 180; i++) growth.sample(250 * MB + i * 0.5 * MB, T0 + i * MIN);
  assert.equal(growth.state.status, "warning");
  assert.match(growth.state.reason, /reaches 500 MB in about .* \(memory_restart\)$/);
});

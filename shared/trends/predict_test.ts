import assert from "node:assert/strict";
import { type MemorySample, projectGrowth } from "./predict.ts";
import { normal, seeded } from "./random.ts";

const HOUR = 3_600_000;
const MB = 1_000_000;
const NOW = Date.UTC(2026, 4, 4, 12);

/** Samples every `every` ms over the `hours` before NOW, from `bytes(hoursAgo)`. */
function samples(
  hours: number,
  bytes: (hoursAgo: number) => number,
  every = 60_000,
): MemorySample[] {
  const list: MemorySample[] = [];
  for (let at = NOW - hours * HOUR; at <= NOW; at += every) {
    list.push({ at, bytes: bytes((NOW - at) / HOUR) });
  }
  return list;
}

Deno.test("projectGrowth() projects a steady climb to the limit", () => {
  const random = seeded(11);
  const climb = samples(3, (ago) => 410 * MB - ago * 30 * MB + 3 * MB * normal(random));
  const growth = projectGrowth(climb, 500 * MB, NOW);
  assert.ok(growth !== null);
  assert.equal(growth.message, "grows ~30 MB/h; reaches 500 MB in about 3 h");
  assert.ok(Math.abs(growth.bytesPerHour - 30 * MB) < 1 * MB, `${growth.bytesPerHour}`);
  assert.ok(Math.abs(growth.reachesAt - (NOW + 3 * HOUR)) < 10 * 60_000);
});

Deno.test("projectGrowth() says minutes when the limit is near", () => {
  const climb = samples(1, (ago) => 750 * MB - ago * 600 * MB, 300_000);
  assert.equal(
    projectGrowth(climb, 1_000 * MB, NOW)?.message,
    "grows ~600 MB/h; reaches 1 GB in about 25 min",
  );
});

Deno.test("projectGrowth() finds no climb in flat, noisy memory", () => {
  const random = seeded(12);
  const flat = samples(4, () => 200 * MB + 10 * MB * normal(random));
  assert.equal(projectGrowth(flat, 250 * MB, NOW), null);
});

Deno.test("projectGrowth() finds no climb in a garbage collector's sawtooth", () => {
  // Rises 40 MB over ten minutes, then drops back, for three hours.
  const sawtooth = samples(3, (ago) => 200 * MB + 40 * MB * (((ago * 60) % 10) / 10));
  assert.equal(projectGrowth(sawtooth, 300 * MB, NOW), null);
});

Deno.test("projectGrowth() follows a leak under the sawtooth", () => {
  const leaking = samples(
    3,
    (ago) => 400 * MB - ago * 30 * MB + 20 * MB * (((ago * 60) % 10) / 10),
  );
  const growth = projectGrowth(leaking, 600 * MB, NOW);
  assert.ok(growth !== null);
  assert.ok(Math.abs(growth.bytesPerHour - 30 * MB) < 3 * MB, `${growth.bytesPerHour}`);
});

Deno.test("projectGrowth() wants at least an hour and six samples", () => {
  const climb = (ago: number) => 400 * MB - ago * 60 * MB;
  assert.equal(projectGrowth(samples(0.75, climb), 500 * MB, NOW), null);
  assert.equal(projectGrowth(samples(2, climb, 30 * 60_000), 500 * MB, NOW), null);
  assert.notEqual(projectGrowth(samples(2, climb, 20 * 60_000), 500 * MB, NOW), null);
});

Deno.test("projectGrowth() leaves a reached limit to the agent's own memory alerts", () => {
  const climb = samples(2, (ago) => 520 * MB - ago * 30 * MB);
  assert.equal(projectGrowth(climb, 500 * MB, NOW), null);
});

Deno.test("projectGrowth() does not project further than a day or four spans", () => {
  const slow = samples(12, (ago) => 200 * MB - ago * 5 * MB);
  assert.equal(projectGrowth(slow, 500 * MB, NOW), null, "60 h away");
  const short = samples(1, (ago) => 200 * MB - ago * 30 * MB);
  assert.equal(projectGrowth(short, 400 * MB, NOW), null, "6.7 h away, fitted on 1 h");
  assert.notEqual(projectGrowth(short, 300 * MB, NOW), null, "3.3 h away");
});

Deno.test("projectGrowth() ignores samples after now", () => {
  const climb = samples(3, (ago) => 410 * MB - ago * 30 * MB);
  const future = [...climb, { at: NOW + HOUR, bytes: 100 * MB }, { at: NOW + 2 * HOUR, bytes: 0 }];
  assert.deepEqual(projectGrowth(future, 500 * MB, NOW), projectGrowth(climb, 500 * MB, NOW));
});

Deno.test("projectGrowth() rejects a limit that is not a positive number", () => {
  assert.throws(
    () => projectGrowth([], 0, NOW),
    new RangeError("Expected a memory limit in bytes above zero, got 0"),
  );
});

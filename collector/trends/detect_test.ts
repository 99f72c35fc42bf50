import assert from "node:assert/strict";
import { addHour, type Baseline, createBaseline } from "./baseline.ts";
import { detect, dispersion, MAX_WINDOW_MS, silence } from "./detect.ts";
import type { Metric } from "./metrics.ts";
import { mix, poisson, seeded, SHAPES, simulate } from "./synthetic.ts";

const BERLIN = "Europe/Berlin";
const HOUR = 3_600_000;
const WEEK = 168 * HOUR;
/** Monday 2026-01-05 00:00 in Berlin. */
const MONDAY = Date.UTC(2026, 0, 4, 23);

/** Local `day` (0 Monday) `hour`:`minute` of week `week` after {@linkcode MONDAY} (winter time). */
function at(week: number, day: number, hour: number, minute = 0): number {
  return MONDAY + week * WEEK + (day * 24 + hour) * HOUR + minute * 60_000;
}

/** A baseline of `weeks` whole weeks from MONDAY, each hour's value from `value` (null: skip it). */
function filled(
  metric: Metric,
  weeks: number,
  value: (week: number, hourOfWeek: number) => number | null,
): Baseline {
  const baseline = createBaseline({ metric, timezone: BERLIN });
  for (let week = 0; week < weeks; week++) {
    for (let hour = 0; hour < 168; hour++) {
      const v = value(week, hour);
      if (v !== null) addHour(baseline, MONDAY + week * WEEK + hour * HOUR, v);
    }
  }
  return baseline;
}

Deno.test("detect() says why: what happened, the usual value ± spread, weekday and time", () => {
  const sums = [30, 34, 35, 40, 40, 45, 46, 50];
  const friday14 = 4 * 24 + 14;
  const baseline = filled("messages", 8, (week, hour) => {
    const half = Math.floor(sums[week] / 2);
    return hour === friday14 ? half : hour === friday14 + 1 ? sums[week] - half : 0;
  });
  const found = detect(baseline, { from: at(8, 4, 14), to: at(8, 4, 16), value: 0 });
  assert.equal(found.message, "posted 0 messages in 2 h; usually 40 ± 8 on Fridays at 14:00");
  assert.equal(found.anomaly, true);
  assert.equal(found.status, "anomaly");
  assert.equal(found.weeks, 8);
  assert.equal(found.usual, 40);
});

Deno.test("detect() does not fire on a single restart of a script that never restarts, but on ten", () => {
  const baseline = filled("restarts", 6, () => 0);
  const window = { from: at(6, 0, 9), to: at(6, 0, 10) };
  assert.equal(detect(baseline, { ...window, value: 1 }).anomaly, false);
  assert.equal(detect(baseline, { ...window, value: 4 }).anomaly, false);
  const ten = detect(baseline, { ...window, value: 10 });
  assert.equal(ten.anomaly, true);
  assert.equal(ten.message, "restarted 10 times in 1 h; usually 0 ± 0 on Mondays at 09:00");
});

Deno.test("detect() catches a burst of restarts in a script that restarts now and then", () => {
  const random = seeded(42);
  const baseline = filled("restarts", 8, () => poisson(random, 0.2));
  const window = { from: at(8, 2, 11), to: at(8, 2, 12) };
  assert.equal(detect(baseline, { ...window, value: 2 }).anomaly, false);
  const burst = detect(baseline, { ...window, value: 12 });
  assert.equal(burst.anomaly, true);
  assert.equal(burst.message, "restarted 12 times in 1 h; usually 0 ± 0 on Wednesdays at 11:00");
});

Deno.test("detect() waits for four past weeks with data before anything fires", () => {
  const baseline = filled("messages", 3, () => 40);
  const found = detect(baseline, { from: at(3, 1, 10), to: at(3, 1, 11), value: 0 });
  assert.equal(found.anomaly, false);
  assert.equal(found.status, "history");
  assert.equal(found.usual, null);
  assert.equal(found.message, "posted 0 messages in 1 h; no baseline yet (3 of 4 weeks)");
  const later = filled("messages", 4, () => 40);
  assert.equal(detect(later, { from: at(4, 1, 10), to: at(4, 1, 11), value: 0 }).anomaly, true);
});

Deno.test("detect() counts only past weeks with data for every hour of the window", () => {
  const baseline = filled("messages", 6, (week, hour) => (week === 2 && hour === 34 ? null : 40));
  const found = detect(baseline, { from: at(6, 1, 9), to: at(6, 1, 11), value: 80 });
  assert.equal(found.weeks, 5);
  assert.equal(found.usual, 80);
});

Deno.test("detect() finds more messages than usual unremarkable: only fewer is news", () => {
  const baseline = filled("messages", 8, () => 40);
  const found = detect(baseline, { from: at(8, 1, 10), to: at(8, 1, 11), value: 400 });
  assert.equal(found.anomaly, false);
  assert.equal(found.status, "normal");
});

Deno.test("detect() gives part of an hour Poisson noise: 10 silent minutes pass, 30 do not", () => {
  const baseline = filled("messages", 8, () => 40);
  const ten = detect(baseline, silence(at(8, 1, 10), at(8, 1, 10, 10)));
  assert.equal(ten.anomaly, false);
  const thirty = detect(baseline, silence(at(8, 1, 10), at(8, 1, 10, 30)));
  assert.equal(thirty.anomaly, true);
  assert.equal(thirty.message, "posted 0 messages in 30 min; usually 20 ± 4 on Tuesdays at 10:00");
});

Deno.test("detect() reads memory, heartbeat and run time as levels, above their floors", () => {
  const memory = filled("memory", 6, () => 400e6);
  const hour = { from: at(6, 3, 15), to: at(6, 3, 16) };
  assert.equal(detect(memory, { ...hour, value: 480e6 }).anomaly, false);
  assert.equal(
    detect(memory, { ...hour, value: 900e6 }).message,
    "peaked at 900 MB in 1 h; usually 400 MB ± 0 on Thursdays at 15:00",
  );
  const heartbeat = filled("heartbeat", 6, () => 10_000);
  assert.equal(detect(heartbeat, { ...hour, value: 25_000 }).anomaly, false);
  const late = detect(heartbeat, { ...hour, value: 60_000 });
  assert.equal(late.anomaly, true);
  assert.equal(late.message, "heartbeats 1m apart in 1 h; usually 10s ± 0 on Thursdays at 15:00");
  const duration = filled("duration", 6, (_, h) => (h === 3 * 24 + 15 ? 180_000 : null));
  const slow = detect(duration, { ...hour, value: 1_500_000 });
  assert.equal(slow.anomaly, true);
  assert.equal(slow.message, "ran for 25m; usually 3m ± 0 on Thursdays at 15:00");
  assert.equal(slow.limit, 270_000);
});

Deno.test("detect() rejects an empty or too long window and a negative value", () => {
  const baseline = filled("messages", 1, () => 1);
  const from = at(1, 0, 0);
  assert.throws(
    () => detect(baseline, { from, to: from, value: 0 }),
    new RangeError(`Expected a window of up to 6 h, got ${from} to ${from}`),
  );
  assert.throws(
    () => detect(baseline, { from, to: from + MAX_WINDOW_MS + 1, value: 0 }),
    new RangeError(`Expected a window of up to 6 h, got ${from} to ${from + MAX_WINDOW_MS + 1}`),
  );
  assert.throws(
    () => detect(baseline, { from, to: from + HOUR, value: -2 }),
    new RangeError("Expected a messages value of zero or more, got -2"),
  );
});

Deno.test("silence() is the span since the last message, at most six hours, with nothing in it", () => {
  const now = at(2, 0, 12);
  assert.deepEqual(silence(now - 20 * 60_000, now), { from: now - 20 * 60_000, to: now, value: 0 });
  assert.deepEqual(silence(now - 9 * HOUR, now), { from: now - 6 * HOUR, to: now, value: 0 });
  assert.deepEqual(silence(null, now), { from: now - 6 * HOUR, to: now, value: 0 });
  assert.throws(
    () => silence(now, now),
    new RangeError(`Expected the last message before now (${now}), got ${now}`),
  );
});

Deno.test("dispersion() is near 1 for independent posts, higher for bursts, 0 for clockwork", () => {
  const weeks = 9;
  const measure = (key: string) => {
    const baseline = createBaseline({ metric: "messages", timezone: BERLIN });
    simulate({ baseline, shape: SHAPES[key], seed: 5, from: MONDAY, to: MONDAY + weeks * WEEK });
    return dispersion(baseline);
  };
  const steady = measure("steady");
  assert.ok(steady > 0.8 && steady < 1.8, `steady: ${steady}`);
  assert.ok(measure("bursty") > 4);
  assert.equal(measure("clockwork"), 0);
  assert.equal(dispersion(createBaseline({ metric: "messages", timezone: BERLIN })), 1);
});

Deno.test("a steady series, busy weekdays and quieter nights and weekends, raises no alert", () => {
  for (const seed of [1, 2, 3, 4]) {
    const alerts = simulate({
      baseline: createBaseline({ metric: "messages", timezone: BERLIN }),
      shape: SHAPES.steady,
      seed,
      from: MONDAY,
      to: MONDAY + 12 * WEEK,
      alertFrom: MONDAY + 4 * WEEK,
    });
    assert.deepEqual(alerts.map((alert) => alert.detection.message), [], `seed ${seed}`);
  }
});

Deno.test("noisy series of every shape raise far under one false alarm per script-week", () => {
  const messages: string[] = [];
  for (const [key, shape] of Object.entries(SHAPES)) {
    for (const seed of [1, 2, 3]) {
      const alerts = simulate({
        baseline: createBaseline({ metric: "messages", timezone: BERLIN }),
        shape,
        seed: mix(seed, key.length),
        from: MONDAY,
        to: MONDAY + 12 * WEEK,
        alertFrom: MONDAY + 4 * WEEK,
      });
      messages.push(...alerts.map((alert) => `${key}: ${alert.detection.message}`));
    }
  }
  // 5 shapes × 3 seeds × 8 weeks = 120 script-weeks; the bench measures the rate on 1,600.
  assert.ok(messages.length <= 2, messages.join("\n"));
});

Deno.test("a busy script that falls silent is caught within the hour", () => {
  const onset = at(8, 1, 10, 17);
  const alerts = simulate({
    baseline: createBaseline({ metric: "messages", timezone: BERLIN }),
    shape: SHAPES.steady,
    seed: 3,
    from: MONDAY,
    to: onset + 6 * HOUR,
    silentFrom: onset,
    alertFrom: MONDAY + 4 * WEEK,
  });
  assert.equal(alerts[0].rule, "silence");
  assert.ok(alerts[0].at - onset <= HOUR, `caught after ${(alerts[0].at - onset) / 60_000} min`);
  assert.match(
    alerts[0].detection.message,
    /^posted 0 messages in \d+ min; usually \d+ ± [\d.]+ on Tuesdays at 10:\d\d$/,
  );
});

Deno.test("a script posting every 15 minutes is caught after two silent hours, not one", () => {
  const onset = at(8, 2, 14, 1);
  const alerts = simulate({
    baseline: createBaseline({ metric: "messages", timezone: BERLIN }),
    shape: SHAPES.clockwork,
    seed: 4,
    from: MONDAY,
    to: onset + 6 * HOUR,
    silentFrom: onset,
    alertFrom: MONDAY + 4 * WEEK,
  });
  assert.equal(alerts.length, 1);
  const after = alerts[0].at - onset;
  assert.ok(after > HOUR && after <= 2.5 * HOUR, `caught after ${after / 60_000} min`);
});

Deno.test("a script falling silent in its first weeks raises nothing: too little history", () => {
  const alerts = simulate({
    baseline: createBaseline({ metric: "messages", timezone: BERLIN }),
    shape: SHAPES.steady,
    seed: 6,
    from: MONDAY,
    to: at(3, 2, 18),
    silentFrom: at(3, 1, 9),
  });
  assert.deepEqual(alerts, []);
});

Deno.test("a shift-shaped series keeps its local hours through the change to summer time", () => {
  // Weekdays 07:00–19:00 local; 2026-03-29 moves Berlin from UTC+1 to UTC+2.
  const start = Date.UTC(2026, 1, 1, 23); // Monday 2026-02-02 00:00 CET
  const baseline = createBaseline({ metric: "messages", timezone: BERLIN });
  const quiet = simulate({
    baseline,
    shape: SHAPES.shifts,
    seed: 8,
    from: start,
    to: Date.UTC(2026, 3, 13, 22), // Monday 2026-04-13 00:00 CEST
    alertFrom: start + 4 * WEEK,
  });
  assert.deepEqual(quiet.map((alert) => alert.detection.message), []);
  // Monday 2026-04-13, silent from 09:10 CEST (07:10 UTC).
  const onset = Date.UTC(2026, 3, 13, 7, 10);
  const caught = simulate({
    baseline,
    shape: SHAPES.shifts,
    seed: 8,
    from: Date.UTC(2026, 3, 13, 4),
    to: onset + 3 * HOUR,
    silentFrom: onset,
  });
  assert.equal(caught[0].rule, "silence");
  assert.match(caught[0].detection.message, / on Mondays at 09:\d\d$/);
});

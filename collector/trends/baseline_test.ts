import assert from "node:assert/strict";
import { addHour, baselineFrom, createBaseline, HOURS_PER_WEEK, valueAt } from "./baseline.ts";
import { localHour } from "./local_hour.ts";

const BERLIN = "Europe/Berlin";
const HOUR = 3_600_000;
const WEEK = 168 * HOUR;
/** Friday 2026-01-09 14:00 in Berlin. */
const FRIDAY_14 = Date.UTC(2026, 0, 9, 13);

Deno.test("createBaseline() starts empty: (weeks + 1) × 168 null slots", () => {
  const baseline = createBaseline({ metric: "messages", timezone: BERLIN });
  assert.equal(baseline.weeks, 8);
  assert.equal(baseline.week, null);
  assert.equal(baseline.values.length, 9 * HOURS_PER_WEEK);
  assert.ok(baseline.values.every((value) => value === null));
});

Deno.test("addHour() files a value under its local week and hour of week", () => {
  const baseline = createBaseline({ metric: "messages", timezone: BERLIN });
  assert.equal(addHour(baseline, FRIDAY_14 + 20 * 60_000, 40), true);
  const { week } = localHour(BERLIN, FRIDAY_14);
  assert.equal(baseline.week, week);
  assert.equal(valueAt(baseline, week, 4 * 24 + 14), 40);
  assert.equal(valueAt(baseline, week, 4 * 24 + 13), null);
});

Deno.test("addHour() replaces an hour recorded again, so a retried write counts once", () => {
  const baseline = createBaseline({ metric: "restarts", timezone: BERLIN });
  addHour(baseline, FRIDAY_14, 3);
  addHour(baseline, FRIDAY_14 + 59 * 60_000, 2);
  assert.equal(valueAt(baseline, localHour(BERLIN, FRIDAY_14).week, 4 * 24 + 14), 2);
});

Deno.test("addHour() keeps memory in whole MB and durations in whole seconds", () => {
  const memory = createBaseline({ metric: "memory", timezone: BERLIN });
  addHour(memory, FRIDAY_14, 512_345_678);
  const { week } = localHour(BERLIN, FRIDAY_14);
  assert.ok(memory.values.includes(512));
  assert.equal(valueAt(memory, week, 4 * 24 + 14), 512_000_000);
  const duration = createBaseline({ metric: "duration", timezone: BERLIN });
  addHour(duration, FRIDAY_14, 183_600);
  assert.equal(valueAt(duration, week, 4 * 24 + 14), 184_000);
});

Deno.test("addHour() keeps the current week and the last `weeks` weeks, dropping older ones", () => {
  const baseline = createBaseline({ metric: "messages", timezone: BERLIN, weeks: 2 });
  const { week, hour } = localHour(BERLIN, FRIDAY_14);
  for (let back = 0; back < 4; back++) addHour(baseline, FRIDAY_14 + back * WEEK, 10 + back);
  assert.equal(valueAt(baseline, week, hour), null);
  assert.deepEqual(
    [1, 2, 3].map((later) => valueAt(baseline, week + later, hour)),
    [11, 12, 13],
  );
});

Deno.test("addHour() clears the weeks it skips over", () => {
  const baseline = createBaseline({ metric: "messages", timezone: BERLIN, weeks: 2 });
  const { week, hour } = localHour(BERLIN, FRIDAY_14);
  addHour(baseline, FRIDAY_14, 10);
  addHour(baseline, FRIDAY_14 + HOUR, 10);
  addHour(baseline, FRIDAY_14 + 3 * WEEK + HOUR, 20);
  assert.equal(baseline.values.filter((value) => value !== null).length, 1);
  assert.equal(valueAt(baseline, week + 3, hour + 1), 20);
});

Deno.test("addHour() ignores an hour older than the weeks kept and says so", () => {
  const baseline = createBaseline({ metric: "messages", timezone: BERLIN, weeks: 2 });
  addHour(baseline, FRIDAY_14 + 3 * WEEK, 10);
  assert.equal(addHour(baseline, FRIDAY_14, 99), false);
  assert.equal(addHour(baseline, FRIDAY_14 + WEEK, 7), true);
  assert.ok(!baseline.values.includes(99));
});

Deno.test("addHour() rejects a negative value, naming the metric", () => {
  const baseline = createBaseline({ metric: "memory", timezone: BERLIN });
  assert.throws(
    () => addHour(baseline, FRIDAY_14, -1),
    new RangeError("Expected a memory value of zero or more, got -1"),
  );
});

Deno.test("createBaseline() rejects an unknown time zone and a week count out of range", () => {
  assert.throws(
    () => createBaseline({ metric: "messages", timezone: "Mars/Olympus" }),
    new RangeError('Unknown time zone "Mars/Olympus": expected an IANA zone like "Europe/Berlin"'),
  );
  assert.throws(
    () => createBaseline({ metric: "messages", timezone: BERLIN, weeks: 0 }),
    new RangeError("Expected baseline weeks from 1 to 52, got 0"),
  );
});

Deno.test("a full baseline of eight weeks of two-digit counts is about 4.6 KB of JSON", () => {
  const baseline = createBaseline({ metric: "messages", timezone: BERLIN });
  const monday = Date.UTC(2026, 0, 4, 23);
  for (let at = monday; at < monday + 9 * WEEK; at += HOUR) addHour(baseline, at, 40);
  assert.ok(baseline.values.every((value) => value === 40));
  const bytes = JSON.stringify(baseline).length;
  assert.ok(bytes > 4_500 && bytes < 4_700, `${bytes} bytes`);
});

Deno.test("baselineFrom() accepts a baseline read back from JSON", () => {
  const baseline = createBaseline({ metric: "heartbeat", timezone: BERLIN });
  addHour(baseline, FRIDAY_14, 10_000);
  assert.deepEqual(baselineFrom(JSON.parse(JSON.stringify(baseline))), baseline);
});

Deno.test("baselineFrom() names the first field that is wrong", () => {
  const good = createBaseline({ metric: "messages", timezone: BERLIN });
  assert.throws(
    () => baselineFrom({ ...good, metric: "cpu" }),
    new TypeError(
      'Invalid baseline: metric must be one of messages, restarts, memory, heartbeat, duration, got "cpu"',
    ),
  );
  assert.throws(
    () => baselineFrom({ ...good, values: [1, 2] }),
    new TypeError("Invalid baseline: values must be an array of 1512, got 2"),
  );
  assert.throws(
    () => baselineFrom({ ...good, values: good.values.map((_, i) => (i === 3 ? -1 : null)) }),
    new TypeError("Invalid baseline: values[3] must be a number of zero or more or null, got -1"),
  );
  assert.throws(
    () => baselineFrom("{}"),
    new TypeError('Invalid baseline: the value must be an object, got "{}"'),
  );
});

import assert from "node:assert/strict";
import { parsePeriod, quickPeriods } from "./report_period.ts";

const NOW = Date.parse("2026-12-05T15:30:00Z");
const ms = (iso: string) => Date.parse(iso);

Deno.test("quickPeriods() are yesterday and the last 7 and 30 days, today included", () => {
  assert.deepEqual(quickPeriods(NOW), [
    { label: "Yesterday", from: "2026-12-04", to: "2026-12-04" },
    { label: "Last 7 days", from: "2026-11-29", to: "2026-12-05" },
    { label: "Last 30 days", from: "2026-11-06", to: "2026-12-05" },
  ]);
});

Deno.test("parsePeriod() covers whole UTC days, the last one included; one taking in today ends now", () => {
  assert.deepEqual(parsePeriod({ from: "2026-12-01", to: "2026-12-03" }, NOW), {
    from: "2026-12-01",
    to: "2026-12-03",
    since: ms("2026-12-01T00:00:00Z"),
    until: ms("2026-12-04T00:00:00Z"),
  });
  assert.equal(parsePeriod({ from: "2026-12-04", to: "2026-12-05" }, NOW).until, NOW);
  assert.deepEqual(
    parsePeriod({ from: "2026-12-02" }, NOW),
    parsePeriod({ to: "2026-12-02" }, NOW),
  );
});

Deno.test("parsePeriod() without days is the last 7", () => {
  const week = parsePeriod({}, NOW);
  assert.deepEqual([week.from, week.to, week.until], ["2026-11-29", "2026-12-05", NOW]);
});

Deno.test("parsePeriod() refuses a text that is not a day, and a day that does not exist", () => {
  assert.throws(
    () => parsePeriod({ from: "yesterday", to: "2026-12-01" }, NOW),
    new SyntaxError('from: expected a day like "2026-12-01", got "yesterday"'),
  );
  assert.throws(
    () => parsePeriod({ from: "2026-02-01", to: "2026-02-30" }, NOW),
    new SyntaxError('to: expected a day like "2026-12-01", got "2026-02-30"'),
  );
});

Deno.test("parsePeriod() refuses to before from, a day after today and a period over 400 days", () => {
  assert.throws(
    () => parsePeriod({ from: "2026-12-03", to: "2026-12-01" }, NOW),
    new RangeError('to: expected a day on or after from (2026-12-03), got "2026-12-01"'),
  );
  assert.throws(
    () => parsePeriod({ from: "2026-12-04", to: "2026-12-06" }, NOW),
    new RangeError(
      'to: expected a day up to today (2026-12-05, UTC), got "2026-12-06": a report covers the past',
    ),
  );
  assert.throws(
    () => parsePeriod({ from: "2025-01-01", to: "2026-12-01" }, NOW),
    new RangeError("from: a report covers at most 400 days, got 700 (2025-01-01 to 2026-12-01)"),
  );
});

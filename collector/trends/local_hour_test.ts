import assert from "node:assert/strict";
import { localClock, localHour } from "./local_hour.ts";

const BERLIN = "Europe/Berlin";

Deno.test("localHour() counts hours of the week from Monday 00:00 in the site's zone", () => {
  // Monday 2026-01-05 00:30 in Berlin (CET, UTC+1) is Sunday 23:30 UTC.
  assert.deepEqual(localHour(BERLIN, Date.UTC(2026, 0, 4, 23, 30)), {
    week: 2923,
    hour: 0,
    start: Date.UTC(2026, 0, 4, 23),
  });
  // Half an hour earlier it is still Sunday 23:xx of the week before.
  assert.deepEqual(localHour(BERLIN, Date.UTC(2026, 0, 4, 22, 59)), {
    week: 2922,
    hour: 167,
    start: Date.UTC(2026, 0, 4, 22),
  });
});

Deno.test("localHour() keeps Monday 09:00 in the same bucket across the change to summer time", () => {
  const before = localHour(BERLIN, Date.UTC(2026, 2, 23, 8, 15)); // 09:15 CET
  const after = localHour(BERLIN, Date.UTC(2026, 2, 30, 7, 15)); // 09:15 CEST
  assert.equal(before.hour, 9);
  assert.equal(after.hour, 9);
  assert.equal(after.week, before.week + 1);
  assert.equal(after.start - before.start, 7 * 24 * 3_600_000 - 3_600_000);
});

Deno.test("localHour() skips the hour that spring forward removes", () => {
  // Sunday 2026-03-29: 01:59 CET is followed by 03:00 CEST.
  assert.equal(localHour(BERLIN, Date.UTC(2026, 2, 29, 0, 59)).hour, 6 * 24 + 1);
  assert.equal(localHour(BERLIN, Date.UTC(2026, 2, 29, 1, 0)).hour, 6 * 24 + 3);
});

Deno.test("localHour() gives both 02:00 hours of the fall back the same bucket, each its own start", () => {
  const summer = localHour(BERLIN, Date.UTC(2026, 9, 25, 0, 30)); // 02:30 CEST
  const winter = localHour(BERLIN, Date.UTC(2026, 9, 25, 1, 30)); // 02:30 CET
  assert.equal(summer.hour, 6 * 24 + 2);
  assert.equal(winter.hour, 6 * 24 + 2);
  assert.equal(summer.start, Date.UTC(2026, 9, 25, 0));
  assert.equal(winter.start, Date.UTC(2026, 9, 25, 1));
});

Deno.test("localHour() starts hours at half past in a zone half an hour off UTC", () => {
  // 08:40 in Kolkata (UTC+5:30) on Monday 2026-01-05.
  const hour = localHour("Asia/Kolkata", Date.UTC(2026, 0, 5, 3, 10));
  assert.equal(hour.hour, 8);
  assert.equal(hour.start, Date.UTC(2026, 0, 5, 2, 30));
});

Deno.test("localHour() rejects a time that is not finite", () => {
  assert.throws(
    () => localHour(BERLIN, NaN),
    new RangeError("Expected a time in ms since the epoch, got NaN"),
  );
});

Deno.test("localClock() prints the local HH:MM", () => {
  assert.equal(localClock(BERLIN, Date.UTC(2026, 0, 9, 13, 20)), "14:20");
  assert.equal(localClock("America/New_York", Date.UTC(2026, 6, 3, 13, 5)), "09:05");
});

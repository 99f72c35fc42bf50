import assert from "node:assert/strict";
import { Schedule } from "./_schedule.ts";

const at = (iso: string) => Date.parse(iso);

Deno.test("Schedule.next() is the next cron time in the schedule's time zone", () => {
  const nightly = new Schedule({ cron: "0 3 * * *", timezone: "Europe/Berlin" });
  // 03:00 in Berlin in winter is 02:00 UTC.
  assert.equal(nightly.next(at("2026-12-04T12:00:00Z")), at("2026-12-05T02:00:00Z"));
  // February 30th never comes.
  assert.equal(new Schedule({ cron: "0 0 30 2 *" }).next(at("2026-01-01T00:00:00Z")), null);
});

Deno.test("Schedule.skipped() counts the times a long run made the script miss", () => {
  const everyMinute = new Schedule({ cron: "* * * * *", timezone: "UTC" });
  const start = at("2026-12-04T10:00:00Z");
  assert.equal(everyMinute.skipped(start, start + 30_000), 0);
  assert.equal(everyMinute.skipped(start, start + 3 * 60_000 + 1), 3);
});

Deno.test("Schedule.period() is the time between two scheduled times", () => {
  const start = at("2026-12-04T10:00:00Z");
  assert.equal(new Schedule({ cron: "*/5 * * * *", timezone: "UTC" }).period(start), 300_000);
  assert.equal(new Schedule({ cron: "0 0 30 2 *" }).period(start), null);
});

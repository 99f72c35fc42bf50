import assert from "node:assert/strict";
import { localTime, parseHours, withinHours } from "./business_hours.ts";

const at = (iso: string) => Date.parse(iso);

Deno.test("parseHours() reads day ranges, comma lists and 24-hour times", () => {
  assert.deepEqual(parseHours("Mon-Fri 08:00-18:00"), {
    text: "Mon-Fri 08:00-18:00",
    days: [0, 1, 2, 3, 4],
    start: 480,
    end: 1080,
  });
  assert.deepEqual(parseHours("sat,Mon,wed-thu 09:30-24:00").days, [0, 2, 3, 5]);
  assert.equal(parseHours("Sun 00:00-24:00").end, 1440);
});

Deno.test("parseHours() rejects bad specs with SyntaxError naming the value", () => {
  const cases: [string, string][] = [
    ["weekdays", ""],
    ["Mon-Fri 8-18", ""],
    ["Mon-Fri 18:00-08:00", " (the end must be after the start)"],
    ["Mon-Fri 08:00-08:00", " (the end must be after the start)"],
    ["Mon-Fri 08:00-25:00", " (times run from 00:00 to 24:00)"],
    ["Mon-Fri 08:61-18:00", " (times run from 00:00 to 24:00)"],
    ["Fri-Mon 08:00-18:00", ' (the day range "Fri-Mon" runs backwards)'],
    ["Mon-Fry 08:00-18:00", ' (unknown days "Mon-Fry"; use Mon, Tue, Wed, Thu, Fri, Sat, Sun)'],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseHours(text), {
      name: "SyntaxError",
      message: `Expected business hours like "Mon-Fri 08:00-18:00", got ${
        JSON.stringify(text)
      }${why}`,
    });
  }
});

Deno.test("withinHours() reads the weekday and time in the given zone", () => {
  const weekdays = [parseHours("Mon-Fri 08:00-18:00")];
  // Wednesday 2026-06-10 16:30 UTC is 09:30 in Los Angeles (PDT) and 18:30 in Berlin (CEST).
  assert.equal(withinHours(weekdays, "America/Los_Angeles", at("2026-06-10T16:30:00Z")), true);
  assert.equal(withinHours(weekdays, "Europe/Berlin", at("2026-06-10T16:30:00Z")), false);
  // 14:59 UTC is 07:59 in Los Angeles: a minute before opening.
  assert.equal(withinHours(weekdays, "America/Los_Angeles", at("2026-06-10T14:59:00Z")), false);
  assert.equal(withinHours(weekdays, "America/Los_Angeles", at("2026-06-10T15:00:00Z")), true);
});

Deno.test("withinHours() treats the weekend and the end time as outside", () => {
  const hours = [parseHours("Mon-Fri 08:00-18:00"), parseHours("Sat 09:00-13:00")];
  const zone = "Europe/Berlin";
  // Saturday 2026-06-13: 10:00 CEST is inside, 14:00 is outside; Sunday is outside all day.
  assert.equal(withinHours(hours, zone, at("2026-06-13T08:00:00Z")), true);
  assert.equal(withinHours(hours, zone, at("2026-06-13T12:00:00Z")), false);
  assert.equal(withinHours(hours, zone, at("2026-06-14T08:00:00Z")), false);
  // Friday 18:00 CEST exactly is closed.
  assert.equal(withinHours(hours, zone, at("2026-06-12T16:00:00Z")), false);
  assert.equal(withinHours(hours, zone, at("2026-06-12T15:59:00Z")), true);
});

Deno.test("withinHours() follows New York across the DST change of 2026-03-08", () => {
  const sunday = [parseHours("Sun 08:00-18:00")];
  const zone = "America/New_York";
  // 12:30 UTC is 07:30 EST the Sunday before (closed), 08:30 EDT on the day (open).
  assert.equal(withinHours(sunday, zone, at("2026-03-01T12:30:00Z")), false);
  assert.equal(withinHours(sunday, zone, at("2026-03-08T12:30:00Z")), true);
  // Clocks jump from 02:00 to 03:00 at 07:00 UTC.
  assert.deepEqual(localTime(zone, at("2026-03-08T06:59:00Z")), { weekday: 6, minutes: 119 });
  assert.deepEqual(localTime(zone, at("2026-03-08T07:00:00Z")), { weekday: 6, minutes: 180 });
});

Deno.test("withinHours() reports an unknown zone with RangeError", () => {
  assert.throws(() => withinHours([parseHours("Mon 08:00-09:00")], "Mars/Olympus", 0), RangeError);
});

Deno.test("withinHours() is never inside an empty list", () => {
  assert.equal(withinHours([], "UTC", at("2026-06-10T12:00:00Z")), false);
});

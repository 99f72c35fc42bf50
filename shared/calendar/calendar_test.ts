import assert from "node:assert/strict";
import { Calendar } from "./calendar.ts";
import { parseSpans } from "./hours.ts";
import { parseIcsHolidays } from "./ics.ts";

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

function calendar(timezone: string, hours: string[], holidays: string[] = []): Calendar {
  return new Calendar({ name: "test", timezone, spans: hours.map(parseSpans), holidays });
}

const dayShift = () =>
  calendar("America/Los_Angeles", ["Mon-Fri 06:00-18:00", "Sat 08:00-12:00"], ["2026-12-25"]);
const nights = () => calendar("Europe/Berlin", ["Sun-Thu 22:00-06:30"]);

Deno.test("isOpen() follows a day shift's weekdays and hours in its zone", () => {
  const cal = dayShift();
  // Wednesday 2026-06-10 in Los Angeles (PDT, UTC-7).
  assert.equal(cal.isOpen(at("2026-06-10T12:59:00Z")), false, "05:59");
  assert.equal(cal.isOpen(at("2026-06-10T13:00:00Z")), true, "06:00");
  assert.equal(cal.isOpen(at("2026-06-11T00:59:00Z")), true, "17:59");
  assert.equal(cal.isOpen(at("2026-06-11T01:00:00Z")), false, "18:00");
  // Saturday 08:00-12:00, Sunday closed.
  assert.equal(cal.isOpen(at("2026-06-13T15:00:00Z")), true, "Sat 08:00");
  assert.equal(cal.isOpen(at("2026-06-13T19:00:00Z")), false, "Sat 12:00");
  assert.equal(cal.isOpen(at("2026-06-14T17:00:00Z")), false, "Sun 10:00");
});

Deno.test("nextChange() skips the weekend to Monday's opening", () => {
  const cal = dayShift();
  // Wednesday 10:00 PDT: closes at 18:00.
  assert.equal(cal.nextChange(at("2026-06-10T17:00:00Z")), at("2026-06-11T01:00:00Z"));
  // Friday 18:00: opens Saturday 08:00.
  assert.equal(cal.nextChange(at("2026-06-13T01:00:00Z")), at("2026-06-13T15:00:00Z"));
  // Saturday 12:00: opens Monday 06:00.
  assert.equal(cal.nextChange(at("2026-06-13T19:00:00Z")), at("2026-06-15T13:00:00Z"));
});

Deno.test("currentSpan() merges overlapping and touching spans", () => {
  const cal = calendar("UTC", [
    "Mon-Fri 08:00-12:00",
    "Mon-Fri 13:00-17:00",
    "Mon 11:00-14:00",
    "Fri 17:00-19:00",
  ]);
  // Monday 2026-06-08: the 11:00-14:00 span bridges lunch.
  assert.deepEqual(cal.currentSpan(at("2026-06-08T09:00:00Z")), {
    start: at("2026-06-08T08:00:00Z"),
    end: at("2026-06-08T17:00:00Z"),
  });
  assert.equal(cal.nextChange(at("2026-06-08T09:00:00Z")), at("2026-06-08T17:00:00Z"));
  // Tuesday: closed over lunch.
  assert.equal(cal.currentSpan(at("2026-06-09T12:30:00Z")), null);
  assert.equal(cal.nextChange(at("2026-06-09T12:30:00Z")), at("2026-06-09T13:00:00Z"));
  assert.deepEqual(cal.currentSpan(at("2026-06-09T09:00:00Z")), {
    start: at("2026-06-09T08:00:00Z"),
    end: at("2026-06-09T12:00:00Z"),
  });
  // Friday: 17:00-19:00 touches 13:00-17:00, so it does not close at 17:00.
  assert.equal(cal.isOpen(at("2026-06-12T17:00:00Z")), true);
  assert.deepEqual(cal.currentSpan(at("2026-06-12T14:00:00Z")), {
    start: at("2026-06-12T13:00:00Z"),
    end: at("2026-06-12T19:00:00Z"),
  });
});

Deno.test("a night shift opens in the evening and stays open past midnight", () => {
  const cal = nights();
  // Berlin in June is CEST, UTC+2. Sunday 2026-06-07 22:00 opens.
  assert.equal(cal.isOpen(at("2026-06-07T19:59:00Z")), false, "Sun 21:59");
  assert.equal(cal.isOpen(at("2026-06-07T20:00:00Z")), true, "Sun 22:00");
  assert.equal(cal.isOpen(at("2026-06-08T01:00:00Z")), true, "Mon 03:00");
  assert.equal(cal.isOpen(at("2026-06-08T04:30:00Z")), false, "Mon 06:30");
  assert.equal(cal.isOpen(at("2026-06-08T05:00:00Z")), false, "Mon 07:00");
  assert.deepEqual(cal.currentSpan(at("2026-06-08T01:00:00Z")), {
    start: at("2026-06-07T20:00:00Z"),
    end: at("2026-06-08T04:30:00Z"),
  });
});

Deno.test('a "Sun-Thu" night shift runs into Friday morning but does not open Friday night', () => {
  const cal = nights();
  assert.equal(cal.isOpen(at("2026-06-12T01:00:00Z")), true, "Fri 03:00");
  assert.equal(cal.isOpen(at("2026-06-12T20:00:00Z")), false, "Fri 22:00");
  assert.equal(cal.isOpen(at("2026-06-13T01:00:00Z")), false, "Sat 03:00");
  assert.equal(cal.isOpen(at("2026-06-13T20:00:00Z")), false, "Sat 22:00");
});

Deno.test("nextChange() crosses a night shift and the weekend", () => {
  const cal = nights();
  // Monday 03:00: closes at 06:30.
  assert.equal(cal.nextChange(at("2026-06-08T01:00:00Z")), at("2026-06-08T04:30:00Z"));
  // Monday 07:00: opens at 22:00.
  assert.equal(cal.nextChange(at("2026-06-08T05:00:00Z")), at("2026-06-08T20:00:00Z"));
  // Friday 07:00: opens Sunday 22:00.
  assert.equal(cal.nextChange(at("2026-06-12T05:00:00Z")), at("2026-06-14T20:00:00Z"));
});

Deno.test("New York spring-forward: a 01:00-03:00 span lasts one hour", () => {
  // 2026-03-08: at 02:00 EST (07:00 UTC) the clocks jump to 03:00 EDT.
  const cal = calendar("America/New_York", ["Sun 01:00-03:00"]);
  const span = cal.currentSpan(at("2026-03-08T06:30:00Z"));
  assert.deepEqual(span, { start: at("2026-03-08T06:00:00Z"), end: at("2026-03-08T07:00:00Z") });
  assert.equal(span.end - span.start, 1 * HOUR);
  assert.equal(cal.nextChange(at("2026-03-08T06:30:00Z")), at("2026-03-08T07:00:00Z"));
});

Deno.test("New York spring-forward: a span opening at a skipped time opens when the clocks jump", () => {
  const cal = calendar("America/New_York", ["Sun 02:30-04:00"]);
  assert.equal(cal.isOpen(at("2026-03-08T06:59:00Z")), false);
  assert.equal(cal.nextChange(at("2026-03-08T05:00:00Z")), at("2026-03-08T07:00:00Z"));
  assert.deepEqual(cal.currentSpan(at("2026-03-08T07:00:00Z")), {
    start: at("2026-03-08T07:00:00Z"),
    end: at("2026-03-08T08:00:00Z"),
  });
});

Deno.test("New York fall-back: a 00:00-06:00 span lasts seven hours", () => {
  // 2026-11-01: at 02:00 EDT (06:00 UTC) the clocks go back to 01:00 EST.
  const cal = calendar("America/New_York", ["Sun 00:00-06:00"]);
  const span = cal.currentSpan(at("2026-11-01T08:00:00Z"));
  assert.deepEqual(span, { start: at("2026-11-01T04:00:00Z"), end: at("2026-11-01T11:00:00Z") });
  assert.equal(span.end - span.start, 7 * HOUR);
  assert.equal(cal.nextChange(at("2026-11-01T03:00:00Z")), at("2026-11-01T04:00:00Z"));
  assert.equal(cal.nextChange(at("2026-11-01T04:00:00Z")), at("2026-11-01T11:00:00Z"));
});

Deno.test("New York fall-back: a span opening at a repeated time opens at its first occurrence", () => {
  // 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
  const cal = calendar("America/New_York", ["Sun 01:30-05:00"]);
  assert.equal(cal.isOpen(at("2026-11-01T05:29:00Z")), false);
  assert.equal(cal.isOpen(at("2026-11-01T05:30:00Z")), true);
  assert.equal(cal.nextChange(at("2026-11-01T05:00:00Z")), at("2026-11-01T05:30:00Z"));
  assert.equal(cal.nextChange(at("2026-11-01T05:30:00Z")), at("2026-11-01T10:00:00Z"));
});

Deno.test("New York: weekday opening moves by an hour of UTC across the change", () => {
  const cal = calendar("America/New_York", ["Mon-Fri 09:00-17:00"]);
  // Friday 2026-03-06 17:00 EST (22:00 UTC) to Monday 09:00 EDT (13:00 UTC).
  assert.equal(cal.nextChange(at("2026-03-06T22:00:00Z")), at("2026-03-09T13:00:00Z"));
  assert.equal(cal.isOpen(at("2026-03-06T14:00:00Z")), true, "Fri 09:00 EST");
  assert.equal(cal.isOpen(at("2026-03-09T13:00:00Z")), true, "Mon 09:00 EDT");
});

Deno.test("Berlin: a night shift across spring-forward lasts 7 hours, across fall-back 9", () => {
  const cal = calendar("Europe/Berlin", ["Sat 22:00-06:00"]);
  // 2026-03-29 02:00 CET became 03:00 CEST.
  const spring = cal.currentSpan(at("2026-03-28T23:00:00Z"));
  assert.deepEqual(spring, {
    start: at("2026-03-28T21:00:00Z"),
    end: at("2026-03-29T04:00:00Z"),
  });
  assert.equal(spring.end - spring.start, 7 * HOUR);
  // 2026-10-25 03:00 CEST became 02:00 CET.
  const fall = cal.currentSpan(at("2026-10-24T23:00:00Z"));
  assert.deepEqual(fall, { start: at("2026-10-24T20:00:00Z"), end: at("2026-10-25T05:00:00Z") });
  assert.equal(fall.end - fall.start, 9 * HOUR);
  assert.equal(cal.nextChange(at("2026-10-25T01:30:00Z")), at("2026-10-25T05:00:00Z"));
});

Deno.test("Berlin: a span wholly inside the skipped hour does not open that day", () => {
  const cal = calendar("Europe/Berlin", ["Sun 02:00-03:00"]);
  assert.equal(cal.isOpen(at("2026-03-29T01:00:00Z")), false);
  // Next opening: Sunday 2026-04-05 02:00 CEST.
  assert.equal(cal.nextChange(at("2026-03-28T12:00:00Z")), at("2026-04-05T00:00:00Z"));
});

Deno.test("a holiday from the list closes the day shift", () => {
  const cal = dayShift();
  // Friday 2026-12-25 10:00 PST (UTC-8).
  assert.equal(cal.isHoliday(at("2026-12-25T18:00:00Z")), true);
  assert.equal(cal.isOpen(at("2026-12-25T18:00:00Z")), false);
  assert.equal(cal.isHoliday(at("2026-12-24T18:00:00Z")), false);
  assert.equal(cal.isOpen(at("2026-12-24T18:00:00Z")), true);
  // Thursday 18:00 closes until Saturday 08:00.
  assert.equal(cal.nextChange(at("2026-12-25T02:00:00Z")), at("2026-12-26T16:00:00Z"));
});

Deno.test("a holiday closes the day shift but not the night shift that started the evening before", () => {
  const hours = ["Mon-Fri 06:00-18:00", "Sun-Thu 22:00-06:30"];
  // Friday 2026-12-25 05:00 CET (UTC+1), inside Thursday's night shift.
  const friday = at("2026-12-25T04:00:00Z");
  const working = calendar("Europe/Berlin", hours);
  assert.deepEqual(working.currentSpan(friday), {
    start: at("2026-12-24T21:00:00Z"),
    end: at("2026-12-25T17:00:00Z"),
  });
  const christmas = calendar("Europe/Berlin", hours, ["2026-12-25"]);
  assert.equal(christmas.isHoliday(friday), true);
  assert.equal(christmas.isOpen(friday), true);
  assert.deepEqual(christmas.currentSpan(friday), {
    start: at("2026-12-24T21:00:00Z"),
    end: at("2026-12-25T05:30:00Z"),
  });
  assert.equal(christmas.isOpen(at("2026-12-25T06:00:00Z")), false, "Fri 07:00");
  // Next opening: the Sunday night shift, 2026-12-27 22:00 CET.
  assert.equal(christmas.nextChange(friday), at("2026-12-25T05:30:00Z"));
  assert.equal(christmas.nextChange(at("2026-12-25T05:30:00Z")), at("2026-12-27T21:00:00Z"));
});

Deno.test("a night shift that would open on a holiday evening does not open", () => {
  const cal = calendar("Europe/Berlin", ["Mon-Fri 06:00-18:00", "Sun-Thu 22:00-06:30"], [
    "2026-12-24",
  ]);
  // Wednesday's night shift runs into the holiday morning, then nothing opens on Thursday.
  assert.deepEqual(cal.currentSpan(at("2026-12-24T04:00:00Z")), {
    start: at("2026-12-23T21:00:00Z"),
    end: at("2026-12-24T05:30:00Z"),
  });
  assert.equal(cal.isOpen(at("2026-12-24T22:00:00Z")), false, "Thu 23:00");
  assert.equal(cal.nextChange(at("2026-12-24T05:30:00Z")), at("2026-12-25T05:00:00Z"));
});

Deno.test("holidays read from an .ics file close the calendar on each date", () => {
  const ics = [
    "BEGIN:VCALENDAR",
    "BEGIN:VEVENT",
    "DTSTART;VALUE=DATE:20261228",
    "DTEND;VALUE=DATE:20261231",
    "SUMMARY:Year-end inventory",
    "END:VEVENT",
    "END:VCALENDAR",
  ].join("\r\n");
  const cal = calendar(
    "America/Los_Angeles",
    ["Mon-Fri 06:00-18:00"],
    parseIcsHolidays(ics, "inventory.ics"),
  );
  // Monday 2026-12-28 to Wednesday 12-30 closed; Thursday 12-31 opens at 06:00 PST.
  assert.equal(cal.isOpen(at("2026-12-28T18:00:00Z")), false);
  assert.equal(cal.isOpen(at("2026-12-30T18:00:00Z")), false);
  assert.equal(cal.nextChange(at("2026-12-28T18:00:00Z")), at("2026-12-31T14:00:00Z"));
});

Deno.test("a calendar without spans is never open and never changes", () => {
  const cal = calendar("UTC", []);
  assert.equal(cal.isOpen(at("2026-06-10T12:00:00Z")), false);
  assert.equal(cal.nextChange(at("2026-06-10T12:00:00Z")), null);
  assert.equal(cal.currentSpan(at("2026-06-10T12:00:00Z")), null);
  assert.equal(cal.describe(), "never open (UTC)");
});

Deno.test("an always-open calendar never changes, except around its holidays", () => {
  const always = calendar("Europe/Berlin", ["Mon-Sun 00:00-24:00"]);
  assert.equal(always.nextChange(at("2026-12-20T12:00:00Z")), null);
  assert.deepEqual(always.currentSpan(at("2026-12-20T12:00:00Z")), {
    start: -Infinity,
    end: Infinity,
  });
  const christmas = calendar("Europe/Berlin", ["Mon-Sun 00:00-24:00"], ["2026-12-25"]);
  // Closes at midnight CET before the holiday and opens at midnight after it.
  assert.equal(christmas.nextChange(at("2026-12-20T12:00:00Z")), at("2026-12-24T23:00:00Z"));
  assert.equal(christmas.nextChange(at("2026-12-24T23:00:00Z")), at("2026-12-25T23:00:00Z"));
});

Deno.test("nextChange() gives up after 400 days of holidays", () => {
  const start = at("2026-01-01T00:00:00Z");
  const holidays = Array.from(
    { length: 500 },
    (_, day) => new Date(start + day * 24 * HOUR).toISOString().slice(0, 10),
  );
  const cal = calendar("UTC", ["Mon-Fri 08:00-18:00"], holidays);
  assert.equal(cal.nextChange(start), null);
});

Deno.test("new Calendar() rejects an unknown time zone and a malformed holiday", () => {
  assert.throws(
    () => new Calendar({ name: "nights", timezone: "Mars/Olympus", spans: [], holidays: [] }),
    { name: "RangeError", message: 'Calendar "nights": unknown time zone "Mars/Olympus"' },
  );
  assert.throws(
    () => new Calendar({ name: "nights", timezone: "UTC", spans: [], holidays: ["25/12/2026"] }),
    {
      name: "SyntaxError",
      message: 'Calendar "nights": expected a holiday date like "2026-12-25", got "25/12/2026"',
    },
  );
});

Deno.test("describe() names the hours, zone and holiday count", () => {
  const holidays = Array.from(
    { length: 12 },
    (_, month) => `2026-${String(month + 1).padStart(2, "0")}-01`,
  );
  const hours = ["Mon-Fri 06:00-18:00", "Sat 08:00-12:00"];
  assert.equal(
    calendar("America/Los_Angeles", hours, holidays).describe(),
    "Mon-Fri 06:00-18:00, Sat 08:00-12:00 (America/Los_Angeles), 12 holidays",
  );
  assert.equal(
    dayShift().describe(),
    "Mon-Fri 06:00-18:00, Sat 08:00-12:00 (America/Los_Angeles), 1 holiday",
  );
  assert.equal(nights().describe(), "Sun-Thu 22:00-06:30 (Europe/Berlin)");
});

Deno.test("localDate() and localWeekday() read the date in the calendar's zone", () => {
  const instant = at("2026-06-08T01:00:00Z");
  assert.equal(dayShift().localDate(instant), "2026-06-07");
  assert.equal(dayShift().localWeekday(instant), 6);
  assert.equal(nights().localDate(instant), "2026-06-08");
  assert.equal(nights().localWeekday(instant), 0);
});

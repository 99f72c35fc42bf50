import assert from "node:assert/strict";
import { parseIcsHolidays } from "./ics.ts";

/** A holiday calendar as Google or Outlook export it, CRLF and folded. */
const SAMPLE = [
  "BEGIN:VCALENDAR",
  "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
  "VERSION:2.0",
  "CALSCALE:GREGORIAN",
  "X-WR-CALNAME:FC holidays",
  "X-WR-TIMEZONE:America/Los_Angeles",
  "BEGIN:VTIMEZONE",
  "TZID:America/Los_Angeles",
  "BEGIN:DAYLIGHT",
  "TZOFFSETFROM:-0800",
  "TZOFFSETTO:-0700",
  "DTSTART:19700308T020000",
  "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
  "END:DAYLIGHT",
  "BEGIN:STANDARD",
  "TZOFFSETFROM:-0700",
  "TZOFFSETTO:-0800",
  "DTSTART:19701101T020000",
  "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
  "END:STANDARD",
  "END:VTIMEZONE",
  "BEGIN:VEVENT",
  "DTSTART;VALUE=DATE:20261225",
  "DTEND;VALUE=DATE:20261226",
  "UID:christmas-2026@example.com",
  "SUMMARY:Christmas Day",
  "DESCRIPTION:Site closed\\, no shipping\\; pickers off. Call the duty manager",
  "  on 555-0100 for anything urgent\\, e.g. a stuck DTSTART:20260101 queue.",
  "Some exporters break long text without folding it",
  "X-MICROSOFT-CDO-ALLDAYEVENT:TRUE",
  "BEGIN:VALARM",
  "ACTION:DISPLAY",
  "TRIGGER:-P1D",
  "DESCRIPTION:Reminder",
  "END:VALARM",
  "END:VEVENT",
  "BEGIN:VEVENT",
  "DTSTART;VALUE=DATE:20261228",
  "DTEND;VALUE=DATE:20261231",
  "UID:inventory-2026@example.com",
  "SUMMARY:Year-end inventory\\, three days",
  "END:VEVENT",
  "BEGIN:VEVENT",
  "DTSTART;VALUE=DATE:20270101",
  "RRULE:FREQ=YEARLY;COUNT=3",
  "UID:new-year@example.com",
  "SUMMARY:New Year's Day",
  "END:VEVENT",
  "BEGIN:VEVENT",
  'DTSTART;TZID="America/Los_Angeles":20260704T000000',
  'DTEND;TZID="America/Los_Angeles":20260705T000000',
  "UID:independence@example.com",
  "SUMMARY:Independence Day",
  "END:VEVENT",
  "BEGIN:VEVENT",
  "DTSTART:20261126T080000Z",
  "UID:thanksgiving@example.com",
  "SUMMARY:Thanksgiving",
  "END:VEVENT",
  "END:VCALENDAR",
  "",
].join("\r\n");

const SAMPLE_DATES = [
  "2026-07-04",
  "2026-11-26",
  "2026-12-25",
  "2026-12-28",
  "2026-12-29",
  "2026-12-30",
  "2027-01-01",
  "2028-01-01",
  "2029-01-01",
];

/** One VEVENT in a minimal calendar; `lines` become lines 4 onwards. */
function calendar(...lines: string[]): string {
  return [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "BEGIN:VEVENT",
    ...lines,
    "END:VEVENT",
    "END:VCALENDAR",
  ].join("\r\n");
}

Deno.test("parseIcsHolidays() reads the dates of an exported holiday calendar", () => {
  assert.deepEqual(parseIcsHolidays(SAMPLE, "us_holidays.ics"), SAMPLE_DATES);
});

Deno.test("parseIcsHolidays() reads LF files and lines folded with a tab alike", () => {
  const lf = SAMPLE.replaceAll("\r\n", "\n").replace(
    "DTSTART;VALUE=DATE:2026",
    "DTSTART;VALUE\n\t=DATE:2026",
  );
  assert.deepEqual(parseIcsHolidays(lf, "us_holidays.ics"), SAMPLE_DATES);
});

Deno.test("parseIcsHolidays() takes a date-time's date as written, ending at midnight exclusive", () => {
  const dates = parseIcsHolidays(
    calendar(
      "DTSTART;TZID=Europe/Berlin:20261224T120000",
      "DTEND;TZID=Europe/Berlin:20261226T170000",
    ),
    "x.ics",
  );
  assert.deepEqual(dates, ["2026-12-24", "2026-12-25", "2026-12-26"]);
  assert.deepEqual(
    parseIcsHolidays(calendar("DTSTART:20261231T230000", "DURATION:PT2H"), "x.ics"),
    ["2026-12-31", "2027-01-01"],
  );
  assert.deepEqual(
    parseIcsHolidays(calendar("DTSTART;VALUE=DATE:20261224", "DURATION:P2D"), "x.ics"),
    ["2026-12-24", "2026-12-25"],
  );
});

Deno.test("parseIcsHolidays() expands an open yearly rule ten years after DTSTART", () => {
  const dates = parseIcsHolidays(
    calendar("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY"),
    "x.ics",
  );
  assert.equal(dates.length, 11);
  assert.equal(dates[0], "2026-01-01");
  assert.equal(dates.at(-1), "2036-01-01");
});

Deno.test("parseIcsHolidays() expands an open yearly rule through the date it is given", () => {
  const text = calendar("DTSTART;VALUE=DATE:19991225", "RRULE:FREQ=YEARLY");
  const dates = parseIcsHolidays(text, "x.ics", { through: "2040-12-24" });
  assert.equal(dates.length, 41);
  assert.equal(dates.at(-1), "2039-12-25");
  assert.throws(() => parseIcsHolidays(text, "x.ics", { through: "soon" }), {
    name: "SyntaxError",
    message: 'Expected a date like "2036-12-31" for through, got "soon"',
  });
});

Deno.test("parseIcsHolidays() stops a yearly rule at UNTIL and keeps 29 February to leap years", () => {
  assert.deepEqual(
    parseIcsHolidays(
      calendar("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=YEARLY;UNTIL=20281225"),
      "x.ics",
    ),
    ["2026-12-25", "2027-12-25", "2028-12-25"],
  );
  assert.deepEqual(
    parseIcsHolidays(
      calendar("DTSTART;VALUE=DATE:20240229", "RRULE:FREQ=YEARLY;COUNT=2"),
      "x.ics",
    ),
    ["2024-02-29", "2028-02-29"],
  );
  // Outlook repeats the month and day of DTSTART in the rule.
  assert.deepEqual(
    parseIcsHolidays(
      calendar(
        "DTSTART;VALUE=DATE:20261225",
        "RRULE:FREQ=YEARLY;BYMONTHDAY=25;BYMONTH=12;INTERVAL=2;COUNT=2",
      ),
      "x.ics",
    ),
    ["2026-12-25", "2028-12-25"],
  );
});

Deno.test("parseIcsHolidays() honours EXDATE, RDATE, moved occurrences and cancelled events", () => {
  const text = [
    "BEGIN:VCALENDAR",
    "BEGIN:VEVENT",
    "UID:xmas",
    "DTSTART;VALUE=DATE:20261225",
    "RRULE:FREQ=YEARLY;COUNT=4",
    "EXDATE;VALUE=DATE:20271225",
    "RDATE;VALUE=DATE:20261224,20271224",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "UID:xmas",
    "RECURRENCE-ID;VALUE=DATE:20281225",
    "DTSTART;VALUE=DATE:20281227",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "UID:picnic",
    "STATUS:CANCELLED",
    "DTSTART;VALUE=DATE:20260801",
    "END:VEVENT",
    "END:VCALENDAR",
  ].join("\n");
  assert.deepEqual(parseIcsHolidays(text, "x.ics"), [
    "2026-12-24",
    "2026-12-25",
    "2027-12-24",
    "2028-12-27",
    "2029-12-25",
  ]);
});

Deno.test("parseIcsHolidays() rejects a rule it cannot expand, naming source, line and value", () => {
  const text = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Example//EN",
    "BEGIN:VEVENT",
    "UID:payday",
    "SUMMARY:Payday",
    "DESCRIPTION:Paid on the 1st\\, every month. This description is long enough",
    "  to be folded over",
    "  three lines.",
    "DTSTART;VALUE=DATE:20260101",
    "BEGIN:VALARM",
    "TRIGGER:-PT1H",
    "END:VALARM",
    "RRULE:FREQ=MONTHLY",
    "END:VEVENT",
    "END:VCALENDAR",
  ].join("\r\n");
  assert.throws(() => parseIcsHolidays(text, "us_holidays.ics"), {
    name: "SyntaxError",
    message:
      'us_holidays.ics line 14: RRULE "FREQ=MONTHLY" is not supported (only FREQ=YEARLY, with COUNT or UNTIL)',
  });
  for (const rule of ["FREQ=YEARLY;BYDAY=4TH", "FREQ=YEARLY;BYMONTH=12", "FREQ=YEARLY;COUNT=0"]) {
    assert.throws(
      () => parseIcsHolidays(calendar("DTSTART;VALUE=DATE:20261126", `RRULE:${rule}`), "x.ics"),
      {
        name: "SyntaxError",
        message: `x.ics line 5: RRULE ${
          JSON.stringify(rule)
        } is not supported (only FREQ=YEARLY, with COUNT or UNTIL)`,
      },
    );
  }
});

Deno.test("parseIcsHolidays() rejects a date it cannot read, naming source, line and value", () => {
  assert.throws(() => parseIcsHolidays(calendar("SUMMARY:x", "DTSTART:2026-12-25"), "x.ics"), {
    name: "SyntaxError",
    message:
      'x.ics line 5: DTSTART "2026-12-25" is not a date like 20261225 or a date-time like 20261225T090000',
  });
  assert.throws(() => parseIcsHolidays(calendar("DTSTART;VALUE=DATE:20260230"), "x.ics"), {
    name: "SyntaxError",
    message:
      'x.ics line 4: DTSTART "20260230" is not a date like 20261225 or a date-time like 20261225T090000',
  });
  assert.throws(() => parseIcsHolidays(calendar("UID:x", "SUMMARY:No date"), "x.ics"), {
    name: "SyntaxError",
    message: "x.ics line 3: VEVENT has no DTSTART",
  });
});

Deno.test("parseIcsHolidays() rejects text that is not a whole iCalendar file", () => {
  assert.throws(() => parseIcsHolidays("<html><body>Sign in</body></html>\n", "us_holidays.ics"), {
    name: "SyntaxError",
    message: "us_holidays.ics: not an iCalendar file (no BEGIN:VCALENDAR line)",
  });
  const cut = SAMPLE.slice(0, SAMPLE.indexOf("UID:new-year"));
  assert.throws(() => parseIcsHolidays(cut, "us_holidays.ics"), {
    name: "SyntaxError",
    message: "us_holidays.ics: BEGIN:VEVENT on line 43 is never closed (is the file cut short?)",
  });
  assert.throws(() => parseIcsHolidays(calendar("DTSTART:20261225", "END:VALARM"), "x.ics"), {
    name: "SyntaxError",
    message: "x.ics line 5: END:VALARM does not close BEGIN:VEVENT (line 3)",
  });
});

Deno.test("parseIcsHolidays() gives an empty list for a calendar without events", () => {
  assert.deepEqual(
    parseIcsHolidays("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "x.ics"),
    [],
  );
});

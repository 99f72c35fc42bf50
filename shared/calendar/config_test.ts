import assert from "node:assert/strict";
import { join } from "node:path";
import { calendarsSchema, resolveCalendars } from "./config.ts";

const ICS = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "BEGIN:VEVENT",
  "DTSTART;VALUE=DATE:20261126",
  "SUMMARY:Thanksgiving",
  "END:VEVENT",
  "END:VCALENDAR",
  "",
].join("\r\n");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("resolveCalendars() joins listed holidays with an .ics file's, read beside the config", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "us.ics"), ICS);
    const config = calendarsSchema.parse({
      day_shift: {
        timezone: "America/New_York",
        hours: ["Mon-Fri 06:00-18:00"],
        holidays: ["2026-12-25"],
        holidays_file: "us.ics",
      },
      holidays_only: { holidays: ["2026-12-25"] },
    });
    const { calendars, issues } = resolveCalendars(config, {
      base: dir,
      readText: Deno.readTextFileSync,
    });
    assert.deepEqual(issues, []);
    const day = calendars.get("day_shift")!;
    assert.deepEqual(day.holidays, ["2026-11-26", "2026-12-25"]);
    // Thanksgiving 10:00 in New York: a holiday, closed.
    assert.equal(day.isOpen(Date.parse("2026-11-26T15:00:00Z")), false);
    assert.equal(day.isOpen(Date.parse("2026-11-27T15:00:00Z")), true);
    // Without hours: open all day except on its holidays.
    const only = calendars.get("holidays_only")!;
    assert.equal(only.isOpen(Date.parse("2026-12-24T03:00:00Z")), true);
    assert.equal(only.isHoliday(Date.parse("2026-12-25T12:00:00Z")), true);
  });
});

Deno.test("resolveCalendars() names the key and the file's line of a holidays file it cannot use", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "bad.ics"), ICS.replace("20261126", "2026-11-26"));
    const config = calendarsSchema.parse({
      broken: { holidays_file: "bad.ics" },
      missing: { holidays_file: "nowhere.ics" },
    });
    const { calendars, issues } = resolveCalendars(config, {
      base: dir,
      readText: Deno.readTextFileSync,
    });
    assert.deepEqual([...calendars.keys()], ["broken", "missing"], "kept for keys naming them");
    assert.deepEqual(issues.map((i) => i.path), [
      "calendars.broken.holidays_file",
      "calendars.missing.holidays_file",
    ]);
    assert.match(issues[0].message, /^bad\.ics line 4: /);
    assert.equal(issues[1].message, `no such file ${JSON.stringify(join(dir, "nowhere.ics"))}`);
  });
});

Deno.test("calendarsSchema refuses a bad span, date or zone, naming the value", () => {
  const result = calendarsSchema.safeParse({
    shift: { timezone: "Mars/Olympus", hours: ["Mon-Fri 8-18"], holidays: ["2026-02-30"] },
  });
  assert.equal(result.success, false);
  assert.deepEqual(
    result.error!.issues.map((i) => [i.path.join("."), i.message]),
    [
      [
        "shift.timezone",
        'expected an IANA time zone like "Europe/Berlin" or "UTC", got "Mars/Olympus"',
      ],
      [
        "shift.hours.0",
        'expected working hours like "Mon-Fri 08:00-18:00" (a span past midnight like ' +
        '"Sun-Thu 22:00-06:30"), got "Mon-Fri 8-18"',
      ],
      ["shift.holidays.0", 'expected a date like "2026-12-25", got "2026-02-30"'],
    ],
  );
});

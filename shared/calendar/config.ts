/**
 * `[calendars.<name>]` as both programs' config files write it, and its
 * resolution into {@linkcode Calendar}s:
 *
 * ```toml
 * [calendars.day_shift]
 * timezone = "America/Los_Angeles"    # default: the machine's zone
 * hours = ["Mon-Fri 06:00-18:00", "Sat 08:00-12:00"]   # default: all day, every day
 * holidays = ["2026-12-25", "2027-01-01"]
 * holidays_file = "us_holidays.ics"   # iCalendar, relative to the config file
 * ```
 *
 * @module
 */
import { z } from "zod";
import { isAbsolute, join } from "node:path";
import { namedRecord } from "../config/named_record.ts";
import { customIssue, timezone } from "../config/zod_units.ts";
import { Calendar } from "./calendar.ts";
import { parseSpans, type WeeklySpan } from "./hours.ts";
import { parseIcsHolidays } from "./ics.ts";

/** Yearly holidays of an `.ics` file are expanded this many years past the config's load. */
const ICS_YEARS_AHEAD = 10;

const spanSpec = z.string().check((ctx) => {
  try {
    parseSpans(ctx.value);
  } catch (error) {
    const message = (error as Error).message;
    ctx.issues.push(customIssue(ctx.value, message[0].toLowerCase() + message.slice(1)));
  }
});

const holidayDate = z.string().check((ctx) => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ctx.value);
  const date = match && new Date(`${ctx.value}T00:00:00Z`);
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== ctx.value) {
    ctx.issues.push(
      customIssue(ctx.value, `expected a date like "2026-12-25", got ${JSON.stringify(ctx.value)}`),
    );
  }
});

/** One `[calendars.<name>]` as written. */
export const calendarSchema = z.strictObject({
  timezone: timezone.optional(),
  hours: z.array(spanSpec).min(1, {
    error: 'expected at least one span like "Mon-Fri 08:00-18:00" (leave hours out for all day)',
  }).optional(),
  holidays: z.array(holidayDate).optional(),
  holidays_file: z.string().min(1).optional(),
});

/** `[calendars]`: named calendars. */
export const calendarsSchema = namedRecord(calendarSchema, "calendar");

/** `[calendars]` as written. */
export type CalendarsConfig = z.infer<typeof calendarsSchema>;

/** All day, every day: a calendar that only names holidays. */
const ALL_DAY = "Mon-Sun 00:00-24:00";

/**
 * The calendars of a validated `[calendars]` table, holiday files read by `readText` (the
 * program's file reading; tests pass their own) relative to `base`. A file that cannot be read
 * or parsed is an issue at `calendars.<name>.holidays_file`. Yearly holidays are expanded to the
 * end of the tenth year after `now`'s, so that two loads in one year give equal calendars (a
 * reload restarts only what changed).
 */
export function resolveCalendars(
  config: CalendarsConfig | undefined,
  options: {
    base: string;
    readText: (path: string) => string;
    defaultTimezone?: string;
    now?: number;
  },
): { calendars: Map<string, Calendar>; issues: { path: string; message: string }[] } {
  const calendars = new Map<string, Calendar>();
  const issues: { path: string; message: string }[] = [];
  const zone = options.defaultTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const through = `${new Date(options.now ?? Date.now()).getUTCFullYear() + ICS_YEARS_AHEAD}-12-31`;
  for (const [name, written] of Object.entries(config ?? {})) {
    const holidays = [...written.holidays ?? []];
    if (written.holidays_file !== undefined) {
      const path = isAbsolute(written.holidays_file)
        ? written.holidays_file
        : join(options.base, written.holidays_file);
      try {
        holidays.push(
          ...parseIcsHolidays(options.readText(path), written.holidays_file, { through }),
        );
      } catch (error) {
        const why = error instanceof Deno.errors.NotFound
          ? `no such file ${JSON.stringify(path)}`
          : (error as Error).message;
        // Kept without the file's holidays, so that keys naming it do not also fail.
        issues.push({ path: `calendars.${name}.holidays_file`, message: why });
      }
    }
    const spans: WeeklySpan[] = (written.hours ?? [ALL_DAY]).map(parseSpans);
    calendars.set(
      name,
      new Calendar({ name, timezone: written.timezone ?? zone, spans, holidays }),
    );
  }
  return { calendars, issues };
}

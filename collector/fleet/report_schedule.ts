/**
 * Scheduled digests (`[[reports]]`, issue 18): a site's (or the fleet's)
 * digest of the last day or week, sent to webhooks when the period ends.
 *
 * ```toml
 * [[reports]]
 * site = "BFI4"              # default: every site
 * every = "day"              # or "week" (ending on Mondays)
 * at = "07:00"               # when the period ends, local; default "07:00"
 * timezone = "America/Los_Angeles"   # default the machine's
 * webhooks = ["ops"]
 * ```
 *
 * The leader looks every minute; a period that ended within the last hour
 * and was not sent yet is built ({@linkcode buildDigest}) and queued to each
 * webhook through the collector's outbox, with a dedupe key naming the report
 * and the period's end, so a restart or a new leader never sends it twice.
 *
 * @module
 */
import { z } from "zod";
import { getLogger } from "@logtape/logtape";
import { timezone } from "../../shared/config/zod_units.ts";
import { instantAt, wallClock } from "../../shared/calendar/mod.ts";
import type { Payload } from "../../shared/notify/types.ts";
import { type Digest, digestText } from "./digest.ts";

const log = getLogger(["scriptmon", "collector", "reports"]);

const DAY_MS = 86_400_000;
/** A period that ended longer ago than this is not sent any more (the collector was away). */
const FRESH_MS = 3_600_000;
/** A digest's dedupe key stays claimed this long (a week's period and then some). */
const DEDUPE_MS = 8 * DAY_MS;

const clock = z.string().check((ctx) => {
  const match = /^(\d{2}):(\d{2})$/.exec(ctx.value);
  if (match === null || Number(match[1]) > 23 || Number(match[2]) > 59) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected a local time like "07:00", got ${JSON.stringify(ctx.value)}`,
    });
  }
});

/** One `[[reports]]` as written. */
export const reportSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
  site: z.string().min(1).optional(),
  every: z.enum(["day", "week"]),
  at: clock.optional(),
  timezone: timezone.optional(),
  webhooks: z.array(z.string().min(1)).min(1),
});

/** A `[[reports]]` after defaults. */
export interface ResolvedReport {
  /** Names it in the dedupe key and the log: default `<site or fleet>-<every>`. */
  name: string;
  /** Null: every site. */
  site: string | null;
  every: "day" | "week";
  /** Minutes after local midnight the period ends. */
  atMinutes: number;
  timezone: string;
  webhooks: string[];
}

/** Applies the defaults to validated `[[reports]]`. */
export function resolveReports(
  reports: z.infer<typeof reportSchema>[] | undefined,
  options: { defaultTimezone?: string } = {},
): ResolvedReport[] {
  const zone = options.defaultTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  return (reports ?? []).map((r) => {
    const [hours, minutes] = (r.at ?? "07:00").split(":").map(Number);
    return {
      name: r.name ?? `${r.site ?? "fleet"}-${r.every}`,
      site: r.site ?? null,
      every: r.every,
      atMinutes: hours * 60 + minutes,
      timezone: r.timezone ?? zone,
      webhooks: [...r.webhooks],
    };
  });
}

/**
 * The latest period of `report` that ended at or before `now`: the day (or the week, ending on
 * a Monday) up to `at`, local time, right through daylight-saving changes.
 */
export function lastPeriod(report: ResolvedReport, now: number): { since: number; until: number } {
  const wall = wallClock(report.timezone, now);
  let day = Math.floor(wall / DAY_MS);
  if (report.every === "week") day -= (day + 3) % 7; // back to Monday (1970-01-05 was one)
  const step = report.every === "week" ? 7 : 1;
  let end = day * DAY_MS + report.atMinutes * 60_000;
  if (end > wall) end -= step * DAY_MS;
  return {
    since: instantAt(report.timezone, end - step * DAY_MS),
    until: instantAt(report.timezone, end),
  };
}

/** What the schedule needs from the collector. */
export interface ReportScheduleDeps {
  reports(): ResolvedReport[];
  digest(options: { site?: string; since: number; until: number }): Promise<Digest>;
  /** Queues one message; a dedupe key seen before is a no-op. */
  enqueue(
    message: { channel: string; dedupeKey: string; dedupeWindowMs: number; payload: Payload },
  ): Promise<unknown>;
  /** The page a digest links to, when the collector knows its address. */
  link?: (report: ResolvedReport, period: { since: number; until: number }) => string | undefined;
}

/** Sends each report once per period; see the module comment. */
export class ReportSchedule {
  #deps: ReportScheduleDeps;
  /** The period end each report was last queued for. */
  #sent = new Map<string, number>();

  constructor(deps: ReportScheduleDeps) {
    this.#deps = deps;
  }

  /** One look at every report. */
  async pass(now: number): Promise<void> {
    for (const report of this.#deps.reports()) {
      const period = lastPeriod(report, now);
      if (now - period.until > FRESH_MS || this.#sent.get(report.name) === period.until) continue;
      try {
        await this.#send(report, period);
        this.#sent.set(report.name, period.until);
      } catch (error) {
        log.error("Cannot send the report {name} (will retry): {error}", {
          name: report.name,
          error,
        });
      }
    }
  }

  async #send(report: ResolvedReport, period: { since: number; until: number }): Promise<void> {
    const digest = await this.#deps.digest({
      ...period,
      ...(report.site === null ? {} : { site: report.site }),
    });
    const day = new Date(period.until - 1).toISOString().slice(0, 10);
    const what = report.every === "day" ? "Daily" : "Weekly";
    const title = `${what} report, ${report.site ?? "all sites"}, to ${day}`;
    const link = this.#deps.link?.(report, period);
    const text = digestText(digest, { title, ...(link === undefined ? {} : { link }) });
    for (const channel of report.webhooks) {
      await this.#deps.enqueue({
        channel,
        // The outbox dedupes across channels: each webhook's copy has its own key.
        dedupeKey: `report|${report.name}|${period.until}|${channel}`,
        dedupeWindowMs: DEDUPE_MS,
        payload: {
          type: "alert",
          alert: {
            rule: "report",
            severity: "info",
            status: "firing",
            title,
            text: text.slice(title.length + 1),
            site: report.site ?? "",
            host: "",
            at: new Date(period.until).toISOString(),
            episode: String(period.until),
          },
        },
      });
    }
    log.info("Report {name} for the period to {day} queued to {webhooks}", {
      name: report.name,
      day,
      webhooks: report.webhooks.join(", "),
    });
  }
}

/**
 * `uptime_days`: each script's uptime per UTC day, from the collector's daily rollups
 * (`rollUpDays` of `collector/fleet/uptime.ts`: a day is rolled up once it has ended and late
 * news of it had time to arrive, so today is not in it). Kept for `rollup_retention`.
 *
 * @module
 */

import type { DayRollup } from "../store/history.ts";
import { type Dataset, isoTime, type Row } from "./dataset.ts";

const DAY_MS = 86_400_000;

/** A rollup as a row of {@linkcode UPTIME_DAYS}. */
export function uptimeDayRow(
  id: { site: string; host: string; script: string },
  rollup: DayRollup,
): Row {
  const counted = rollup.upMs + rollup.downMs;
  return {
    site: id.site,
    host: id.host,
    script: id.script,
    day: isoTime(rollup.day).slice(0, 10),
    up_seconds: rollup.upMs / 1000,
    down_seconds: rollup.downMs / 1000,
    idle_seconds: rollup.idleMs / 1000,
    unknown_seconds: rollup.unknownMs / 1000,
    uptime_ratio: counted === 0 ? null : rollup.upMs / counted,
    restarts: rollup.restarts,
  };
}

/** The dataset: one row per script and rolled-up day. */
export const UPTIME_DAYS: Dataset = {
  name: "uptime_days",
  description: "Each script's uptime per UTC day, from the daily rollups (days that have ended)",
  window: "the days that overlap it",
  allSites: false,
  columns: [
    { name: "site", type: "text", description: "The agent's site (FC)" },
    { name: "host", type: "text", description: "The agent's workstation" },
    { name: "script", type: "text", description: "The script's name in the agent's config" },
    { name: "day", type: "date", description: "The UTC day" },
    { name: "up_seconds", type: "number", description: "Seconds starting, running or stopping" },
    {
      name: "down_seconds",
      type: "number",
      description: "Seconds in backoff, crash-looping, failed or waiting for a token",
    },
    {
      name: "idle_seconds",
      type: "number",
      description: "Seconds stopped, exited or between scheduled runs",
    },
    {
      name: "unknown_seconds",
      type: "number",
      description: "Seconds its state was unknown (its agent offline, or before any report)",
    },
    {
      name: "uptime_ratio",
      type: "number",
      description: "up / (up + down), from 0 to 1; null when the script was neither",
    },
    { name: "restarts", type: "integer", description: "Starts after a crash that day" },
  ],
  async *rows(source, query) {
    // A day overlaps [since, until) when it starts in [the day of since, until).
    const since = Math.floor(query.since / DAY_MS) * DAY_MS;
    const rollups = source.store.history.allRollups({
      since,
      until: query.until,
      ...(query.sites === undefined ? {} : { sites: query.sites }),
    });
    for await (const { rollup, ...id } of rollups) yield uptimeDayRow(id, rollup);
  },
};

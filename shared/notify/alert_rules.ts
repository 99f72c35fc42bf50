/**
 * The one set of script alert rules, read from the script summary an agent
 * reports (`ScriptSummary` of the wire protocol): the agent judges its own
 * scripts with them before it sends the summary, and the collector judges
 * the same summary when it arrives, so both raise the same conditions by
 * construction. Rules: `crash-looping`, `script-down`, `waiting-for-token`,
 * `job-failed`, `unhealthy` (heartbeat, silence, probes) and `resource`
 * (memory, CPU). Pure and level-triggered: the conditions true now; the
 * policy turns them into firing, repeated and resolved messages.
 *
 * @module
 */

import type { ScriptSummary } from "../protocol.ts";
import type { Alert, Severity } from "./types.ts";

/** One condition that holds now, under a stable key. */
export interface Condition {
  /** `<rule>|<site>|<host>|<script>|<check>`: the same key while the same thing is wrong. */
  key: string;
  alert: Alert;
}

/** Where the script runs and when it is judged. */
export interface RuleContext {
  site: string;
  host: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** A page to link from the alert (the agent's `notify.link`). */
  link?: string;
}

/** What only the agent knows of a script, added to its alerts' text. */
export interface ScriptFacts {
  /** The last lines the script wrote to stderr. */
  stderrTail?: string[];
  /** Said after a crash loop's text: "Retrying every 5m until a run lasts 10m." */
  crashLoopNote?: string;
}

/** How long a script may wait in backoff before it counts as down. */
export const DOWN_AFTER_MS = 30_000;

const RESOURCE_CHECKS = new Set(["memory", "cpu", "memory-growth"]);

/** Whether a check name is one the `unhealthy` rule watches. */
function isHealthCheck(name: string): boolean {
  return name === "heartbeat" || name === "silence" || name.startsWith("probe:");
}

/** The key of a script condition. */
export function conditionKey(
  rule: string,
  ctx: { site: string; host: string },
  script: string,
  check = "",
): string {
  return [rule, ctx.site, ctx.host, script, check].join("|");
}

/** The conditions that hold for one reported script. */
export function scriptConditions(
  summary: ScriptSummary,
  ctx: RuleContext,
  facts: ScriptFacts = {},
): Condition[] {
  const out: Condition[] = [];
  const where = `on ${ctx.host} (${ctx.site})`;
  const exit = summary.lastExit;
  const lastExit = exit === null
    ? "no exit yet"
    : exit.signal !== null
    ? `killed by ${exit.signal}`
    : `exit code ${exit.code}`;
  const scheduled = summary.schedule !== undefined && summary.schedule !== null;
  // Outside its active hours a script is idle ("stop"), watched loosely ("relax": warnings at
  // most) or not alerted on at all ("run").
  if (summary.offHours === "run" || summary.offHours === "stop") return out;
  const add = (rule: string, wanted: Severity, title: string, text: string, check?: string) => {
    const relaxed = summary.offHours === "relax" && wanted === "critical";
    const severity = relaxed ? "warning" : wanted;
    if (relaxed) text += " (Outside its active hours: a warning, not critical.)";
    out.push({
      key: conditionKey(rule, ctx, summary.name, check),
      alert: {
        rule,
        severity,
        status: "firing",
        title,
        text,
        site: ctx.site,
        host: ctx.host,
        script: summary.name,
        ...(check === undefined ? {} : { check }),
        restarts: summary.restarts,
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        ...(facts.stderrTail === undefined ? {} : { stderrTail: facts.stderrTail }),
        ...(ctx.link === undefined ? {} : { link: ctx.link }),
        at: new Date(ctx.now).toISOString(),
        episode: "",
      },
    });
  };
  if (summary.state === "crash-looping") {
    const note = facts.crashLoopNote === undefined ? "" : ` ${facts.crashLoopNote}`;
    add(
      "crash-looping",
      "critical",
      `${summary.name} is crash-looping ${where}`,
      `${summary.restarts} restarts; last ${lastExit}.${note}`,
    );
  } else if (summary.state === "waiting-for-token") {
    add(
      "waiting-for-token",
      "warning",
      `${summary.name} waits for a token ${where}`,
      `Not started: ${summary.reason ?? "a token it uses is not valid"}. It starts by itself ` +
        "once the token is valid again (refreshed, or renewed by hand).",
    );
  } else if (scheduled && summary.state === "failed") {
    add(
      "job-failed",
      "warning",
      `${summary.name}'s scheduled run failed ${where}`,
      `Last ${lastExit}.`,
    );
  } else if (summary.enabled && !scheduled && isDown(summary, ctx.now)) {
    add(
      "script-down",
      "critical",
      `${summary.name} is down ${where}`,
      `${summary.reason ?? summary.state}; last ${lastExit}.`,
    );
  }
  for (const check of summary.checks) {
    // A check whose action does not ask for an alert (the agent says so) raises none.
    if (check.alert === false) continue;
    if (RESOURCE_CHECKS.has(check.name)) {
      if (check.status !== "warning" && check.status !== "failing") continue;
      add(
        "resource",
        check.status === "failing" ? "critical" : "warning",
        check.name === "memory-growth"
          ? `${summary.name}'s memory climbs toward its limit ${where}`
          : `${summary.name} ${check.name} is high ${where}`,
        check.reason,
        check.name,
      );
    } else if (check.status === "failing" && isHealthCheck(check.name)) {
      add(
        "unhealthy",
        "critical",
        `${summary.name} is unhealthy (${check.name}) ${where}`,
        check.reason,
        check.name,
      );
    }
  }
  return out;
}

/**
 * Down: `failed` (cannot be started), or in `backoff` with its last exit
 * more than DOWN_AFTER_MS ago: one crash the backoff mends at once is not
 * worth a page.
 */
function isDown(summary: ScriptSummary, now: number): boolean {
  if (summary.state === "failed") return true;
  if (summary.state !== "backoff" || summary.lastExit === null) return false;
  return now - Date.parse(summary.lastExit.at) > DOWN_AFTER_MS;
}

/**
 * The collector's script alert rules, read from the script summaries each
 * agent reports in its heartbeat. The rule names and severities are the
 * agent's (`crash-looping`, `script-down`, `unhealthy`, `resource`), so a
 * route or silence written for one matches the other. Pure and
 * level-triggered: the conditions true now; the policy does the rest. The
 * agent's tokens (`token-invalid`, `token-expiring`) are read the same way.
 *
 * @module
 */

import type { ScriptSummary, TokenSummary } from "../../shared/protocol.ts";
import type { Alert, Severity } from "../../shared/notify/types.ts";

/** One condition that holds now, under a stable key. */
export interface Condition {
  /** `<rule>|<site>|<host>|<script>|<check>`: the same key while the same thing is wrong. */
  key: string;
  alert: Alert;
}

/** Where the script runs and when it is evaluated. */
export interface RuleContext {
  site: string;
  host: string;
  /** The collector's clock (ms). */
  now: number;
}

/** How long a script may wait in backoff before it counts as down (as on the agent). */
export const DOWN_AFTER_MS = 30_000;

const RESOURCE_CHECKS = new Set(["memory", "cpu"]);

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
export function scriptConditions(summary: ScriptSummary, ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const where = `on ${ctx.host} (${ctx.site})`;
  const exit = summary.lastExit;
  const lastExit = exit === null
    ? "no exit yet"
    : exit.signal !== null
    ? `killed by ${exit.signal}`
    : `exit code ${exit.code}`;
  const add = (
    rule: string,
    severity: Severity,
    title: string,
    text: string,
    check?: string,
  ) => {
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
        at: new Date(ctx.now).toISOString(),
        episode: "",
      },
    });
  };
  if (summary.state === "crash-looping") {
    add(
      "crash-looping",
      "critical",
      `${summary.name} is crash-looping ${where}`,
      `${summary.restarts} restarts; last ${lastExit}.`,
    );
  } else if (summary.state === "waiting-for-token") {
    add(
      "waiting-for-token",
      "warning",
      `${summary.name} waits for a token ${where}`,
      `Not started: ${summary.reason ?? "a token it uses is not valid"}.`,
    );
  } else if (summary.enabled && isDown(summary, ctx.now)) {
    add(
      "script-down",
      "critical",
      `${summary.name} is down ${where}`,
      `${summary.reason ?? summary.state}; last ${lastExit}.`,
    );
  }
  for (const check of summary.checks) {
    if (RESOURCE_CHECKS.has(check.name)) {
      if (check.status !== "warning" && check.status !== "failing") continue;
      add(
        "resource",
        check.status === "failing" ? "critical" : "warning",
        `${summary.name} ${check.name} is high ${where}`,
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

/**
 * The conditions of an agent's tokens (as the agent names them):
 * `token-invalid` (critical) while one is expired or invalid,
 * `token-expiring` (warning) while one is inside its `warn_before`. The
 * agent sends its own once-per-lead-time warnings; these are the fleet's
 * level view of the same states.
 */
export function tokenConditions(tokens: readonly TokenSummary[], ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const where = `on ${ctx.host} (${ctx.site})`;
  for (const t of tokens) {
    const invalid = t.state === "expired" || t.state === "invalid";
    if (!invalid && t.state !== "expiring") continue;
    const rule = invalid ? "token-invalid" : "token-expiring";
    const users = t.usedBy.length === 0 ? "" : ` Used by ${t.usedBy.join(", ")}.`;
    const left = t.expiresAt === null
      ? ""
      : ` ${t.predicted ? "Predicted expiry" : "Expiry"} ${t.expiresAt}.`;
    out.push({
      key: [rule, ctx.site, ctx.host, "", `token:${t.name}`].join("|"),
      alert: {
        rule,
        severity: invalid ? "critical" : "warning",
        status: "firing",
        title: `token ${t.name} is ${t.state} ${where}`,
        text: `${left}${users}`.trim() || `token ${t.name} is ${t.state}`,
        site: ctx.site,
        host: ctx.host,
        check: `token:${t.name}`,
        ...(t.secondsLeft === null ? {} : { value: t.secondsLeft }),
        at: new Date(ctx.now).toISOString(),
        episode: "",
      },
    });
  }
  return out;
}

/**
 * The agent's alert rules: which conditions are true right now, read from
 * the scripts' status. Level-triggered, as Alertmanager's rules are: the
 * policy turns "true now" into firing, repeated and resolved messages.
 */
import type { Alert, Severity } from "../../shared/notify/types.ts";
import type { AgentInfo } from "../local_api/status.ts";
import type { ResolvedScript } from "../config/types.ts";
import type { CheckState } from "../health/types.ts";
import type { ScriptStatus } from "../supervise/state.ts";

/** One condition that holds now, under a stable key. */
export interface Condition {
  /** rule | site | host | script | check: the same key while the same thing is wrong. */
  key: string;
  alert: Alert;
}

/** Where the agent is, for every alert. */
export interface AlertContext {
  site: string;
  host: string;
  link?: string;
  now: number;
}

const RESOURCE_CHECKS = new Set(["memory", "cpu"]);
/** How long a script may wait in backoff before it counts as down. */
export const DOWN_AFTER_MS = 30_000;

/** The conditions that hold for one script. */
export function scriptConditions(
  status: ScriptStatus,
  script: ResolvedScript,
  stderrTail: string[],
  ctx: AlertContext,
): Condition[] {
  const out: Condition[] = [];
  const where = `on ${ctx.host} (${ctx.site})`;
  const base = {
    site: ctx.site,
    host: ctx.host,
    script: status.name,
    restarts: status.restarts,
    exitCode: status.lastExit?.code ?? null,
    signal: status.lastExit?.signal ?? null,
    stderrTail,
    ...(ctx.link ? { link: ctx.link } : {}),
  };
  const lastExit = status.lastExit
    ? status.lastExit.signal
      ? `killed by ${status.lastExit.signal}`
      : `exit code ${status.lastExit.code}`
    : "no exit yet";
  const add = (
    rule: string,
    severity: Severity,
    title: string,
    text: string,
    extra: Partial<Alert> = {},
  ) => {
    const key = [rule, ctx.site, ctx.host, status.name, extra.check ?? ""].join("|");
    out.push({
      key,
      alert: {
        ...base,
        ...extra,
        rule,
        severity,
        status: "firing",
        title,
        text,
        at: new Date(ctx.now).toISOString(),
        episode: "",
      },
    });
  };
  if (status.crashLoop) {
    add(
      "crash-looping",
      "critical",
      `${status.name} is crash-looping ${where}`,
      `${status.restarts} restarts; last ${lastExit}. Retrying every ${
        Math.round(script.restart.maxDelayMs / 1000)
      } s until a run lasts ${Math.round(script.restart.resetAfterMs / 1000)} s.`,
    );
  } else if (
    status.enabled && !script.schedule && isDown(status, ctx.now)
  ) {
    add(
      "script-down",
      "critical",
      `${status.name} is down ${where}`,
      `${status.reason ?? status.state}; last ${lastExit}.`,
    );
  } else if (status.state === "waiting-for-token") {
    add(
      "waiting-for-token",
      "warning",
      `${status.name} waits for a token ${where}`,
      `Not started: ${status.reason ?? "a token it uses is not valid"}. It starts by itself ` +
        "once the token is valid again (refreshed, or renewed by hand).",
    );
  } else if (script.schedule && status.state === "failed") {
    add(
      "job-failed",
      "warning",
      `${status.name}'s scheduled run failed ${where}`,
      `Last ${lastExit}.`,
    );
  }
  for (const check of status.checks) {
    if (check.status !== "failing" && check.status !== "warning") continue;
    if (!alertsFor(script, check)) continue;
    const resource = RESOURCE_CHECKS.has(check.name);
    add(
      resource ? "resource" : "unhealthy",
      check.status === "failing" ? "critical" : "warning",
      `${status.name} ${
        resource ? `${check.name} is high` : `is unhealthy (${check.name})`
      } ${where}`,
      check.reason,
      { check: check.name, value: check.value, threshold: check.threshold },
    );
  }
  return out;
}

/** The conditions of the agent itself: its memory and free disk. */
export function agentConditions(agent: AgentInfo, ctx: AlertContext): Condition[] {
  return agent.checks
    .filter((c) => c.status === "warning" || c.status === "failing")
    .map((c) => ({
      key: ["agent", ctx.site, ctx.host, "", c.name].join("|"),
      alert: {
        rule: "agent",
        severity: "warning" as const,
        status: "firing" as const,
        title: `scriptmon agent ${c.name} ${ctx.host} (${ctx.site})`,
        text: c.reason,
        site: ctx.site,
        host: ctx.host,
        check: c.name,
        value: c.value,
        threshold: c.threshold,
        at: new Date(ctx.now).toISOString(),
        episode: "",
        ...(ctx.link ? { link: ctx.link } : {}),
      },
    }));
}

/**
 * A script is down when it cannot be started (`failed`), or has been waiting
 * to restart for DOWN_AFTER_MS: one crash that the backoff mends at once is
 * not worth a page.
 */
function isDown(status: ScriptStatus, now: number): boolean {
  if (status.state === "failed") return true;
  if (status.state !== "backoff" || !status.lastExit) return false;
  return now - Date.parse(status.lastExit.at) >= DOWN_AFTER_MS;
}

/** Whether a check's action asks for an alert (resource thresholds always do). */
function alertsFor(script: ResolvedScript, check: CheckState): boolean {
  const h = script.health;
  if (check.name === "heartbeat") return h.heartbeat?.action.alert ?? false;
  if (check.name === "silence") return h.silence?.action.alert ?? false;
  if (check.name.startsWith("probe:")) {
    return h.probes.find((p) => `probe:${p.name}` === check.name)?.action.alert ?? false;
  }
  return RESOURCE_CHECKS.has(check.name);
}

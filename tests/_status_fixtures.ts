/** Status snapshots for the renderer tests (metrics, status page): a fixed clock and builders. */
import type { CheckState } from "../agent/health/mod.ts";
import type { ScriptStatus } from "../agent/supervise/mod.ts";

/** The fixed "now" of the fixtures. */
export const NOW = Date.parse("2026-03-02T10:00:00.000Z");

/** The ISO time `secondsAgo` before NOW. */
export function iso(secondsAgo: number): string {
  return new Date(NOW - secondsAgo * 1000).toISOString();
}

/** A passing check, with overrides. */
export function check(name: string, overrides: Partial<CheckState> = {}): CheckState {
  return {
    name,
    status: "ok",
    reason: "ok",
    since: iso(600),
    checkedAt: iso(5),
    consecutiveFailures: 0,
    failuresTotal: 0,
    ...overrides,
  };
}

/** A stopped script's status, with overrides. */
export function script(name: string, overrides: Partial<ScriptStatus> = {}): ScriptStatus {
  return {
    name,
    state: "stopped",
    enabled: true,
    pid: null,
    adopted: false,
    startedAt: null,
    uptimeMs: null,
    restarts: 0,
    crashLoop: false,
    lastExit: null,
    schedule: null,
    nextStartAt: null,
    reason: null,
    command: ["python3", `${name}.py`],
    logPath: `/data/logs/${name}.log`,
    health: "unknown",
    checks: [],
    resources: null,
    heartbeat: null,
    lastLines: [],
    ...overrides,
  };
}

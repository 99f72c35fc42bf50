/**
 * What the health checks report: one state per check, folded into one health
 * per script; and the narrow views of the runner, the supervisor and the
 * event log that the checks use, so that health/ never imports supervise/
 * (the real classes fit these shapes).
 */
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import type { ProcessSample } from "../platform/types.ts";

/** The result of one check. `warning` is only used by resource `warn` thresholds. */
export type CheckStatus = "ok" | "warning" | "failing" | "unknown";

/** A script's health: its worst check (`unknown` when it has no checks or none has run yet). */
export type ScriptHealth = "healthy" | "warning" | "unhealthy" | "unknown";

/** The current state of one check of one script. */
export interface CheckState {
  /** "heartbeat", "silence", "probe:<name>", "memory" or "cpu". */
  name: string;
  status: CheckStatus;
  /** Why, in words: `no ping for 2m 30s (timeout 2m + grace 30s)`. */
  reason: string;
  /** The measured value, in the check's unit (seconds, bytes, percent, ms). */
  value?: number;
  threshold?: number;
  /** ISO time the status last changed. */
  since: string;
  /** ISO time the check last ran (probes, resources) or was evaluated. */
  checkedAt: string | null;
  /** Consecutive failed runs (probes) or samples over a threshold (resources). */
  consecutiveFailures: number;
  /** Times this check went from passing to failing since the agent started. */
  failuresTotal: number;
  /**
   * Probes: the wait before the next run as it adapts (`min_interval` while a result is
   * unsettled, stretching toward `max_interval` while it passes steadily).
   */
  intervalMs?: number;
  /** False when the check's action asks for no alert (resource limits always alert). */
  alert?: boolean;
}

/** Resources of a script's process tree at one sample. */
export interface ResourceSample {
  /** ISO time of the sample. */
  at: string;
  rssBytes: number;
  /** CPU time of the tree's live processes, in seconds. */
  cpuSeconds: number;
  /** Percent of one core since the previous sample; null on the first. */
  cpuPercent: number | null;
  processes: number;
}

/** What the heartbeat endpoints have heard from a script. */
export interface HeartbeatInfo {
  /** ISO times; null when never. */
  lastPingAt: string | null;
  lastStartAt: string | null;
  lastFailAt: string | null;
  /** The body of the last ping (cut at PING_BODY_LIMIT bytes), if it had one. */
  lastMessage: string | null;
  pings: number;
}

/** Ping bodies longer than this many bytes are cut (documented in README). */
export const PING_BODY_LIMIT = 10_000;

/** Folds check states into one health. */
export function foldHealth(checks: readonly CheckState[]): ScriptHealth {
  if (checks.some((c) => c.status === "failing")) return "unhealthy";
  if (checks.some((c) => c.status === "warning")) return "warning";
  if (checks.length === 0 || checks.every((c) => c.status === "unknown")) return "unknown";
  return "healthy";
}

/** What a script's health monitor uses of its runner (`ScriptRunner` fits it). */
export interface HealthRunner {
  readonly name: string;
  readonly config: ResolvedScript;
  /** The runner's state (`running`, `stopped`, ...). */
  readonly state: string;
  /** Called with the time whenever the script printed. */
  onOutput: ((at: number) => void) | null;
  /** Restarts the current run because a check says so (counted as a restart). */
  recycle(reason: string): Promise<void>;
}

/** What the resource sampler hands each process-table snapshot to (`Supervisor` fits it). */
export interface HealthSupervisor {
  /** Feeds one snapshot, taken at `at` (ms), to every script's monitor. */
  sample(table: ProcessSample[], at: number): void;
}

/** A check's result changed (or restarted its script): the event health appends. */
export interface CheckEvent {
  kind: "check";
  /** Absent for the agent's own checks (memory, disk). */
  script?: string;
  check: string;
  status: CheckStatus;
  previous?: CheckStatus;
  reason: string;
  value?: number;
  threshold?: number;
  /** The check's action asks for an alert. */
  alert?: boolean;
  /** The script was restarted because of it. */
  restarted?: boolean;
}

/** What health hears of an event: a script's state changes start and end its runs. */
export interface HeardEvent {
  kind: string;
  /** ISO timestamp. */
  at: string;
  script?: string;
  state?: string;
  from?: string;
}

/** What health uses of the agent's event log (`EventLog` fits it). */
export interface HealthEvents {
  /** Records a check result. */
  append(event: CheckEvent): unknown;
  /** Calls `listener` with every event appended; returns the unsubscribe. */
  subscribe(listener: (event: HeardEvent) => void): () => void;
}

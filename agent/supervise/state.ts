/** The states a supervised script moves through. */
import type { CheckState, HeartbeatInfo, ResourceSample, ScriptHealth } from "../health/types.ts";

/** Every state a script can be in. */
export const SCRIPT_STATES = [
  "starting",
  "running",
  "backoff",
  "crash-looping",
  "stopping",
  "stopped",
  "exited",
  "scheduled",
  "failed",
  "waiting-for-token",
] as const;

/** A script's state: see README for what each means. */
export type ScriptState = typeof SCRIPT_STATES[number];

/** How the last run of a script ended. */
export interface ExitInfo {
  /** ISO timestamp. */
  at: string;
  code: number | null;
  signal: string | null;
  runtimeMs: number;
}

/** What the runner itself knows of a script; `ScriptStatus` adds its health. */
export type RunnerStatus = Omit<
  ScriptStatus,
  "health" | "checks" | "resources" | "heartbeat" | "lastLines" | "schedule"
>;

/** What `status` shows of one script. */
export interface ScriptStatus {
  name: string;
  state: ScriptState;
  enabled: boolean;
  pid: number | null;
  /** The process was started by someone else (an earlier agent, `once`) and adopted. */
  adopted: boolean;
  /** ISO timestamp of the current run's start. */
  startedAt: string | null;
  uptimeMs: number | null;
  restarts: number;
  /** Crash loop detected and not yet cleared by a stable run. */
  crashLoop: boolean;
  lastExit: ExitInfo | null;
  /** The cron expression of a scheduled script (it runs to completion); null otherwise. */
  schedule: string | null;
  /** ISO timestamp of the next start (backoff or schedule). */
  nextStartAt: string | null;
  reason: string | null;
  command: string[];
  logPath: string;
  health: ScriptHealth;
  checks: CheckState[];
  /** The last resource sample of the script's process tree, while it runs. */
  resources: ResourceSample | null;
  /** Null when the script has no heartbeat check and never pinged. */
  heartbeat: HeartbeatInfo | null;
  /** The last few output lines, oldest first. */
  lastLines: { stream: "out" | "err"; line: string }[];
  /** For a singleton script: its scope and which agent runs it (absent for the others). */
  singleton?: SingletonInfo;
  /** Relayed posts attributed to it (`?script=`) since the agent started; absent: none. */
  posted?: number;
  /** False when its `anomalies = false`: the collector learns nothing unusual about it. */
  anomalies?: false;
  /** Outside its `active` hours: what its `off_hours` does then (absent in hours or always). */
  offHours?: "stop" | "relax" | "run";
}

/** Where a singleton script runs, as this agent knows it. */
export interface SingletonInfo {
  scope: "site" | "machine";
  /** This agent holds the script's lease or claim. */
  here: boolean;
  /** The holder: `BFI4/ws-07` (site), `ann, pid 4242` (machine); null when none or unknown. */
  holder: string | null;
}

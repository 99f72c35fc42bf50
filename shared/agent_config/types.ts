/**
 * The agent's configuration after `resolveConfig()`: every default applied,
 * every duration in milliseconds, every size in bytes, every path absolute.
 * The TOML as written is described by the zod schema in `schema.ts`.
 */

/** When a script that exited is started again. */
export type RestartPolicyKind = "always" | "on-failure" | "never";

/** Backoff and crash-loop settings of one script (`[scripts.<name>.restart]`). */
export interface ResolvedRestartPolicy {
  policy: RestartPolicyKind;
  minDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** Fraction, 0..1: each delay is multiplied by a random factor in [1-jitter, 1+jitter]. */
  jitter: number;
  /** A run that lasts this long resets the backoff. */
  resetAfterMs: number;
  /** More than this many restarts within `windowMs` is a crash loop. */
  maxRestarts: number;
  windowMs: number;
}

/** Rotation of one script's log file (`[scripts.<name>.log]`). */
export interface ResolvedLogSettings {
  /** Rotate when the file would grow past this many bytes. */
  maxSizeBytes: number;
  /** Rotate when the file's first line is older than this. */
  maxAgeMs: number;
  /** Rotated files to keep beside the current one. */
  keep: number;
}

/** A cron schedule for a script that runs to completion. */
export interface ResolvedSchedule {
  cron: string;
  /** IANA time zone, e.g. "Europe/Berlin"; undefined means the machine's. */
  timezone?: string;
}

/** What a failing check does: raise an alert event, restart the script, or both. */
export interface ResolvedAction {
  alert: boolean;
  restart: boolean;
}

/** Dead-man's switch: the script pings `/ping/<name>` or touches `file`. */
export interface ResolvedHeartbeat {
  timeoutMs: number;
  /** Extra time after `timeoutMs` before the script counts as unhealthy. */
  graceMs: number;
  /** Absolute path of a file whose modification counts as a ping. */
  file?: string;
  action: ResolvedAction;
}

/** Hang by silence: no output line for `timeoutMs`. */
export interface ResolvedSilence {
  timeoutMs: number;
  action: ResolvedAction;
}

/** What every probe has. */
interface ProbeCommon {
  /** Unique within the script; default "<kind>-<n>" (1-based, in file order). */
  name: string;
  /** The wait between runs as written; a confirmed failure is checked this often. */
  intervalMs: number;
  /** The wait while a result is unsettled (a failure not yet confirmed, a recovery). */
  minIntervalMs: number;
  /** The wait a steadily passing probe stretches to. */
  maxIntervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before the probe counts as failing. */
  failures: number;
  action: ResolvedAction;
}

/** An HTTP probe: passes when the status matches and the body contains `body`. */
export interface ResolvedHttpProbe extends ProbeCommon {
  kind: "http";
  /** An absolute http: or https: URL. */
  url: string;
  method: "GET" | "HEAD" | "POST";
  status: number;
  body?: string;
}

/** A TCP probe: passes when a connection opens. */
export interface ResolvedTcpProbe extends ProbeCommon {
  kind: "tcp";
  host: string;
  port: number;
}

/** An exec probe: passes when the command exits 0 within the timeout. */
export interface ResolvedExecProbe extends ProbeCommon {
  kind: "exec";
  command: string[];
  /** Absolute; defaults to the script's cwd. */
  cwd: string;
}

/** One probe of a script. */
export type ResolvedProbe = ResolvedHttpProbe | ResolvedTcpProbe | ResolvedExecProbe;

/**
 * Resource limits on the script's whole process tree. A `warn` threshold
 * raises an alert; a `restart` threshold restarts (and alerts). Each must
 * hold for `samples` consecutive samples.
 */
export interface ResolvedLimits {
  memoryWarnBytes?: number;
  memoryRestartBytes?: number;
  /** Percent of one core (may exceed 100 on several cores). */
  cpuWarnPercent?: number;
  cpuRestartPercent?: number;
  samples: number;
}

/** The health checks of one script; absent ones are off. */
export interface ResolvedHealth {
  heartbeat?: ResolvedHeartbeat;
  silence?: ResolvedSilence;
  probes: ResolvedProbe[];
  limits?: ResolvedLimits;
}

/** One supervised script. */
export interface ResolvedScript {
  name: string;
  /** argv; a command written as a string is split into words, never run by a shell. */
  command: string[];
  /** Absolute working directory. */
  cwd: string;
  env: Record<string, string>;
  enabled: boolean;
  restart: ResolvedRestartPolicy;
  stopSignal: Deno.Signal;
  stopTimeoutMs: number;
  log: ResolvedLogSettings;
  schedule?: ResolvedSchedule;
  health: ResolvedHealth;
  /**
   * `"site"`: runs only while this agent holds the script's site lease (needs `[collector]`);
   * `"machine"`: only while it holds the workstation's claim; `"none"`: on this agent whatever
   * the default. Unset: the agent's default (`"machine"` under `run --at-logon`).
   */
  singleton?: "site" | "machine" | "none";
  /** `anomalies = false`: the collector raises no anomaly alerts about it. */
  anomalies?: false;
  /** `active = "<calendar>"`: when it runs, and what happens outside (`off_hours`). */
  active?: ResolvedActive;
  /** `skip_on = ["holidays"]` of a scheduled script: the calendar whose holidays it skips. */
  skipHolidays?: Calendar;
  /**
   * With `singleton = "site"`: this many copies at the site, at most one per agent, each started
   * with `SCRIPTMON_REPLICA` (0-based) and `SCRIPTMON_REPLICAS`. Absent: one.
   */
  replicas?: number;
}

/** A script's active hours. */
export interface ResolvedActive {
  calendar: Calendar;
  /** Outside the calendar's spans: stopped, checked loosely (and warnings only), or as usual. */
  offHours: "stop" | "relax" | "run";
  /** `relax`: heartbeat timeouts and probe intervals are this many times longer. */
  relaxFactor: number;
}

/** The `[agent]` table. */
export interface ResolvedAgentSettings {
  /** The FC this workstation belongs to. */
  site: string;
  /** This workstation's name (default: the OS hostname). */
  host: string;
  /** Absolute; holds KV, PID records, the lock and (by default) logs. */
  dataDir: string;
  /** Absolute; script logs and the agent's own log. */
  logDir: string;
  /** Local API port on 127.0.0.1; 0 picks a free one. */
  apiPort: number;
  logLevel: "debug" | "info" | "warning" | "error";
  /** How often resources (scripts' and the agent's own) are sampled. */
  sampleIntervalMs: number;
  /** The agent's own RSS above this is a warning. */
  memoryWarnBytes?: number;
  /** Free space of data_dir or log_dir below this is a warning. */
  diskWarnBytes: number;
  /** How long finished messages are kept in the agent's store (`history`, default 14 days). */
  historyMs: number;
  /** The log folder is kept under this many bytes by deleting the oldest rotated files. */
  logDirMaxBytes: number;
}

/** The `[collector]` table: the agent's link to the collector. */
export interface ResolvedCollectorLink {
  /** Base URL, ending in "/"; http: only for loopback hosts. The first of `urls`. */
  url: string;
  /** Every replica's base URL, in the order written; requests fail over along them. */
  urls: string[];
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** An ingest is sent at least this often, sooner when events happen. */
  heartbeatIntervalMs: number;
  /** Events per ingest, at most MAX_BATCH_EVENTS. */
  batchSize: number;
  /** Unacked events kept before resource samples are dropped. */
  spoolLimit: number;
  /** Per request (the long-poll adds its own wait). */
  timeoutMs: number;
  /** A singleton script's site lease lasts this long unless renewed (every third of it). */
  leaseTtlMs: number;
}

import type { ResolvedWebhook } from "../notify/webhook_schema.ts";
import type { ResolvedNotifyPolicy } from "../notify/policy_schema.ts";
import type { ResolvedToken } from "./token_types.ts";
import type { Calendar } from "../calendar/mod.ts";

/** The whole agent configuration. */
export interface ResolvedAgentConfig {
  /** Absolute path of the file it was read from. */
  path: string;
  /** The `[env.<name>]` overlay applied, if any. */
  envName?: string;
  agent: ResolvedAgentSettings;
  /** In file order. */
  scripts: Record<string, ResolvedScript>;
  /** Named destinations (`[webhooks.<name>]`), for alerts and relayed posts. */
  webhooks: Record<string, ResolvedWebhook>;
  /** How alerts become messages (`[notify]`): grouping, repeats, routes, silences. */
  notify: ResolvedNotifyPolicy;
  /** The link to the collector; absent when there is no `[collector]` table. */
  collector?: ResolvedCollectorLink;
  /** Credentials scripts depend on (`[tokens.<name>]`), in file order. */
  tokens: Record<string, ResolvedToken>;
  /** `[calendars.<name>]`, in file order. */
  calendars: Map<string, Calendar>;
}

/**
 * The agent's configuration after `resolveConfig()`: every default applied,
 * every duration in milliseconds, every size in bytes, every path absolute.
 * The TOML as written is described by the zod schema in `config_schema.ts`.
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
}

/** The whole agent configuration. */
export interface ResolvedAgentConfig {
  /** Absolute path of the file it was read from. */
  path: string;
  /** The `[env.<name>]` overlay applied, if any. */
  envName?: string;
  agent: ResolvedAgentSettings;
  /** In file order. */
  scripts: Record<string, ResolvedScript>;
}

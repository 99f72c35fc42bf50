/**
 * The agent's TOML configuration as written: every key optional, unknown
 * keys rejected (a typo must not be silently ignored), durations and sizes
 * parsed once, here (`{ text, ms }`, `{ text, bytes }`). `_resolve.ts`
 * applies {@linkcode CONFIG_DEFAULTS} and turns this into a
 * `ResolvedAgentConfig`.
 *
 * @module
 */

import { z } from "zod";
import { Cron } from "croner";
import { calendarsSchema } from "../calendar/mod.ts";
import { formatDuration } from "../config/units.ts";
import {
  duration,
  durationAtLeast,
  positiveDuration,
  size,
  timezone,
} from "../config/zod_units.ts";
import { NAME_PATTERN, namedRecord } from "../config/named_record.ts";
import { commandSchema } from "./command_schema.ts";
import { action, limitsSchema, probeSchema } from "./health_schema.ts";
import { describeValue } from "../config/wording.ts";
import { webhookSchema } from "../notify/webhook_schema.ts";
import { notifyPolicySchema } from "../notify/policy_schema.ts";
import { isLoopbackHost } from "../notify/webhook_schema.ts";
import { MAX_BATCH_EVENTS } from "../protocol.ts";
import { tokenSchema } from "./token_schema.ts";

/**
 * Every default of the config in one place, in the units of the TOML file.
 * Not listed because they depend on the machine or the file: `agent.host`
 * (the OS hostname), `agent.log_dir` (`<data_dir>/<log_subdir>`), a script's
 * `cwd` (the config file's folder), `timezone` (the machine's zone); and on
 * Windows `agent.data_dir` is `%LOCALAPPDATA%\scriptmon\scriptmon-data`
 * (`default_paths.ts`).
 */
export const CONFIG_DEFAULTS = {
  agent: {
    site: "default",
    data_dir: "./scriptmon-data",
    /** Not a key: the folder of `log_dir` inside `data_dir` when `log_dir` is not set. */
    log_subdir: "logs",
    api_port: 8791,
    log_level: "info",
    sample_interval: "10s",
    disk_warn: "500MB",
    history: "14d",
    log_dir_max: "2GB",
  },
  /** `[collector]`: the link to the collector (off unless the table is there). */
  collector: {
    heartbeat_interval: "10s",
    batch_size: 500,
    spool_limit: 100_000,
    timeout: "10s",
    /** How long a `singleton = "site"` script's lease lasts unless renewed (every third of it). */
    lease_ttl: "15s",
  },
  /** A script's own keys win over `[defaults]`, which win over these. */
  script: {
    enabled: true,
    stop_signal: "SIGTERM",
    stop_timeout: "10s",
    off_hours: "stop",
    relax_factor: 4,
    restart: {
      policy: "always",
      min_delay: "1s",
      max_delay: "5m",
      multiplier: 2,
      jitter: 0.2,
      reset_after: "10m",
      max_restarts: 10,
      window: "10m",
    },
    log: {
      max_size: "10MB",
      max_age: "1d",
      keep: 5,
    },
  },
  /** Health checks of `[scripts.<name>]`; `[defaults]` does not set these. */
  health: {
    grace: "0s",
    heartbeat_action: "alert",
    silence_action: "alert",
    /** Each `[[scripts.<name>.probes]]`. */
    probes: {
      interval: "30s",
      timeout: "5s",
      failures: 3,
      action: "alert",
      method: "GET",
      status: 200,
    },
    limits: {
      samples: 3,
    },
  },
} as const;

/** Signals a script may be stopped with. */
export const STOP_SIGNALS = [
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGKILL",
  "SIGUSR1",
  "SIGUSR2",
] as const satisfies readonly Deno.Signal[];

/**
 * The Windows names of the stop signals (`stop_signal = "ctrl-break"`), the
 * signal each means on either platform: on Windows SIGINT is sent as a Ctrl-C,
 * SIGKILL ends the script's job, and every other signal is a Ctrl-Break.
 */
export const WINDOWS_STOP_SIGNALS = {
  "ctrl-c": "SIGINT",
  "ctrl-break": "SIGTERM",
  "terminate": "SIGKILL",
} as const satisfies Record<string, (typeof STOP_SIGNALS)[number]>;

/** Levels of the agent's own log. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** Script, probe and overlay names: letters, digits, `_` and `-`. */
export { NAME_PATTERN };

/** Words a script may not be named: they mean something else to `start`, `stop`, `restart`. */
const RESERVED_SCRIPT_NAMES = { all: "`all` names every script in start, stop and restart" };

/** The smallest `agent.sample_interval`, in milliseconds. */
export const MIN_SAMPLE_INTERVAL_MS = 100;

/** The shortest `agent.history`, in milliseconds. */
export const MIN_HISTORY_MS = 60_000;

/** The smallest `collector.heartbeat_interval`, in milliseconds. */
export const MIN_HEARTBEAT_INTERVAL_MS = 1000;

/** The shortest `collector.lease_ttl`, in milliseconds (the protocol's bound). */
export const MIN_LEASE_TTL_MS = 1000;

/** The longest `collector.lease_ttl`, in milliseconds (the protocol's bound). */
export const MAX_LEASE_TTL_MS = 600_000;

/**
 * The values of a script's `singleton` key: `"site"` runs it on one agent of the site,
 * `"machine"` on one agent of the workstation (whichever user's), `"none"` on every agent
 * that has it (the opt-out where `run --at-logon` makes `"machine"` the default).
 */
export const SINGLETON_SCOPES = ["site", "machine", "none"] as const;

/**
 * A script's `off_hours`, outside its `active` calendar's spans: `"stop"` stops it (no alert),
 * `"relax"` keeps it running with its checks stretched and its alerts at most warnings, `"run"`
 * keeps it running as usual but alerts on nothing.
 */
export const OFF_HOURS = ["stop", "relax", "run"] as const;

/** The most copies of one `singleton = "site"` script (`replicas`). */
export const MAX_REPLICAS = 100;

/** The smallest `collector.spool_limit`. */
export const MIN_SPOOL_LIMIT = 10;

/** Run a refinement even when the object has other issues, so all are reported at once. */
const ALWAYS = { when: () => true };

const command = commandSchema('["python", "x.py"]');

const schedule = z.string().check((ctx) => {
  const fields = ctx.value.trim().split(/\s+/).length;
  const nickname = ctx.value.startsWith("@");
  let problem = nickname || fields === 5 || fields === 6 ? undefined : `it has ${fields} fields`;
  try {
    if (problem === undefined) new Cron(ctx.value, { paused: true });
  } catch (error) {
    problem = lowerFirst(error).replace(/^cronPattern: /i, "");
    problem = lowerFirst(problem);
  }
  if (problem !== undefined) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected a cron expression of 5 or 6 fields like "*/5 * * * *", got ${
        JSON.stringify(ctx.value)
      } (${problem})`,
    });
  }
});

/** `[scripts.<name>.restart]` as written. */
export const restartSchema = z.strictObject({
  policy: z.enum(["always", "on-failure", "never"]).optional(),
  min_delay: duration.optional(),
  max_delay: duration.optional(),
  multiplier: z.number().min(1).optional(),
  jitter: z.number().min(0).max(1).optional(),
  reset_after: duration.optional(),
  max_restarts: z.int().min(1).optional(),
  window: duration.optional(),
});

/** `[scripts.<name>.log]` as written. */
export const logSchema = z.strictObject({
  max_size: size.optional(),
  max_age: duration.optional(),
  keep: z.int().min(0).max(1000).optional(),
});

/** Keys that mean nothing without another key of the same script: [key, the key it needs]. */
const NEEDS = [
  ["timezone", "schedule"],
  ["grace", "heartbeat_timeout"],
  ["heartbeat_file", "heartbeat_timeout"],
  ["heartbeat_action", "heartbeat_timeout"],
  ["silence_action", "silence_timeout"],
  ["off_hours", "active"],
  ["relax_factor", "active"],
  ["skip_on", "schedule"],
] as const;

/** `[defaults]`: the keys a script may inherit. */
export const scriptDefaultsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  stop_signal: z.enum([...STOP_SIGNALS, "ctrl-c", "ctrl-break", "terminate"]).optional(),
  stop_timeout: duration.optional(),
  /** Applies only to scripts with a `schedule`. */
  timezone: timezone.optional(),
  restart: restartSchema.optional(),
  log: logSchema.optional(),
});

/** `[scripts.<name>]` as written. */
export const scriptSchema = scriptDefaultsSchema.extend({
  command,
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  schedule: schedule.optional(),
  /** Dead-man's switch: expect a ping (or a touch of heartbeat_file) this often. */
  heartbeat_timeout: positiveDuration.optional(),
  grace: duration.optional(),
  heartbeat_file: z.string().min(1).optional(),
  heartbeat_action: action.optional(),
  /** Hang check: expect an output line this often. */
  silence_timeout: positiveDuration.optional(),
  silence_action: action.optional(),
  probes: z.array(probeSchema).optional(),
  limits: limitsSchema.optional(),
  /** `"site"`: one agent of the site (its lease at the collector); `"machine"`: one of the workstation. */
  singleton: z.enum(SINGLETON_SCOPES).optional(),
  /** A `[calendars.<name>]`: the script runs in its open spans (see `off_hours`). */
  active: z.string().min(1).optional(),
  /** Outside `active`'s spans: stopped (the default), checked loosely, or run as usual. */
  off_hours: z.enum(OFF_HOURS).optional(),
  /** `off_hours = "relax"`: heartbeat timeouts and probe intervals are this many times longer. */
  relax_factor: z.number().min(1).max(100).optional(),
  /** A scheduled script skips its runs on these days: `["holidays"]` of its calendar. */
  skip_on: z.array(z.literal("holidays")).min(1).optional(),
  /** False: the collector raises no anomaly alerts about this script (default true). */
  anomalies: z.boolean().optional(),
  /** With `singleton = "site"`: this many copies, each on another agent of the site. */
  replicas: z.int().min(1).max(MAX_REPLICAS).optional(),
}).superRefine((script, ctx) => {
  for (const [key, needed] of NEEDS) {
    if (script[key] !== undefined && script[needed] === undefined) {
      ctx.addIssue({
        code: "custom",
        input: written(script[key]),
        path: [key],
        message: `expected ${key} only together with ${needed}, got ${
          describeValue(written(script[key]))
        } without one`,
      });
    }
  }
}, ALWAYS);

/** `[agent]` as written. */
export const agentSchema = z.strictObject({
  site: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  data_dir: z.string().min(1).optional(),
  log_dir: z.string().min(1).optional(),
  api_port: z.int().min(0).max(65535).optional(),
  log_level: z.enum(LOG_LEVELS).optional(),
  sample_interval: durationAtLeast(
    MIN_SAMPLE_INTERVAL_MS,
    `>= ${formatDuration(MIN_SAMPLE_INTERVAL_MS)}`,
  ).optional(),
  memory_warn: size.optional(),
  disk_warn: size.optional(),
  history: durationAtLeast(MIN_HISTORY_MS, `>= ${formatDuration(MIN_HISTORY_MS)}`).optional(),
  log_dir_max: size.optional(),
  /** The site's `[calendars.<name>]`: the holidays of `skip_on` for scripts without `active`. */
  calendar: z.string().min(1).optional(),
});

/** What is wrong with `text` as a collector URL, or undefined. */
function collectorUrlProblem(text: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // not a URL at all
  }
  return url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")
    ? "an http:// or https:// URL"
    : url.protocol === "http:" && !isLoopbackHost(url.hostname)
    ? "an https:// URL (plain http:// only to 127.0.0.1 or localhost)"
    : url.username !== "" || url.password !== ""
    ? "a URL without credentials (the token goes in collector.token)"
    : url.search !== "" || url.hash !== ""
    ? "a URL without a query or fragment"
    : undefined;
}

/** One URL, or a list of the replicas' URLs. */
const collectorUrls = z.union([z.string(), z.array(z.string()).min(1).max(16)]).check((ctx) => {
  const list = typeof ctx.value === "string" ? [ctx.value] : ctx.value;
  list.forEach((text, i) => {
    const problem = collectorUrlProblem(text);
    if (problem === undefined) return;
    ctx.issues.push({
      code: "custom",
      input: text,
      message: `expected ${problem}, got ${JSON.stringify(text)}`,
      ...(typeof ctx.value === "string" ? {} : { path: [i] }),
    });
  });
});

/** `[collector]` as written: where the agent reports, and how. */
export const collectorSchema = z.strictObject({
  /**
   * The collector's base URL (the API is under `<url>api/v1/`), or its replicas' URLs, tried in
   * turn when one does not answer.
   */
  url: collectorUrls,
  /** The agent's bearer token, usually `"${SCRIPTMON_AGENT_TOKEN}"`. */
  token: z.string().min(1),
  heartbeat_interval: durationAtLeast(
    MIN_HEARTBEAT_INTERVAL_MS,
    `>= ${formatDuration(MIN_HEARTBEAT_INTERVAL_MS)}`,
  ).optional(),
  batch_size: z.int().min(1).max(MAX_BATCH_EVENTS).optional(),
  spool_limit: z.int().min(MIN_SPOOL_LIMIT).optional(),
  timeout: positiveDuration.optional(),
  lease_ttl: durationAtLeast(MIN_LEASE_TTL_MS, `>= ${formatDuration(MIN_LEASE_TTL_MS)}`).check(
    (ctx) => {
      if (ctx.value.ms > MAX_LEASE_TTL_MS) {
        ctx.issues.push({
          code: "custom",
          input: ctx.value.text,
          message: `expected a duration <= ${formatDuration(MAX_LEASE_TTL_MS)}, got ${
            JSON.stringify(ctx.value.text)
          }`,
        });
      }
    },
  ).optional(),
});

/** The whole file as written; `[env.<name>]` overlays are merged before validation. */
export const agentConfigSchema = z.strictObject({
  agent: agentSchema.optional(),
  defaults: scriptDefaultsSchema.optional(),
  scripts: namedRecord(scriptSchema, "script", { reserved: RESERVED_SCRIPT_NAMES }).optional(),
  webhooks: namedRecord(webhookSchema, "webhook").optional(),
  notify: notifyPolicySchema.optional(),
  collector: collectorSchema.optional(),
  /** `[tokens.<name>]`: credentials scripts depend on (see `token_schema.ts`). */
  tokens: namedRecord(tokenSchema, "token").optional(),
  /** `[calendars.<name>]`: shifts and holidays for `active`, `skip_on` and routes. */
  calendars: calendarsSchema.optional(),
  env: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

/** The agent's config as written in TOML (all keys optional, durations and sizes as strings). */
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

/** The agent's config as written, validated: durations and sizes parsed, no defaults applied. */
export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** `[scripts.<name>]` as written, validated. */
export type ScriptConfig = z.infer<typeof scriptSchema>;

/** One `[[scripts.<name>.probes]]` as written, validated. */
export type ProbeConfig = z.infer<typeof probeSchema>;

/** A health check's action as written: `"alert"`, `"restart"` or an array of them. */
export type ActionConfig = z.infer<typeof action>;

function lowerFirst(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** A value as written: a parsed duration or size gives back its text, anything else is as it is. */
function written(value: unknown): unknown {
  return typeof value === "object" && value !== null && "text" in value ? value.text : value;
}

/**
 * The agent's TOML configuration as written: every key optional, unknown
 * keys rejected (a typo must not be silently ignored), durations and sizes
 * still strings. `config.ts` applies {@linkcode CONFIG_DEFAULTS} and turns
 * this into a `ResolvedAgentConfig`.
 *
 * @module
 */

import { z } from "zod";
import { Cron } from "croner";
import { DURATION_HINT, parseDuration, parseSize, SIZE_HINT } from "../shared/units.ts";
import { splitWords } from "./_words.ts";

/**
 * Every default of the config in one place, in the units of the TOML file.
 * Not listed because they depend on the machine or the file: `agent.host`
 * (the OS hostname), `agent.log_dir` (`<data_dir>/<log_subdir>`), a script's
 * `cwd` (the config file's folder), `timezone` (the machine's zone).
 */
export const CONFIG_DEFAULTS = {
  agent: {
    site: "default",
    data_dir: "./scriptmon-data",
    /** Not a key: the folder of `log_dir` inside `data_dir` when `log_dir` is not set. */
    log_subdir: "logs",
    api_port: 8791,
    log_level: "info",
  },
  /** A script's own keys win over `[defaults]`, which win over these. */
  script: {
    enabled: true,
    stop_signal: "SIGTERM",
    stop_timeout: "10s",
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

/** Levels of the agent's own log. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** Script and overlay names: letters, digits, `_` and `-`. */
export const NAME_PATTERN: RegExp = /^[A-Za-z0-9_-]+$/;

/** Run a refinement even when the object has other issues, so all are reported at once. */
const ALWAYS = { when: () => true };

const duration = z.string().check((ctx) => {
  try {
    parseDuration(ctx.value);
  } catch {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected ${DURATION_HINT}, got ${JSON.stringify(ctx.value)}`,
    });
  }
});

const size = z.string().check((ctx) => {
  try {
    parseSize(ctx.value);
  } catch {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected ${SIZE_HINT}, got ${JSON.stringify(ctx.value)}`,
    });
  }
});

const timezone = z.string().check((ctx) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: ctx.value });
  } catch {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected an IANA time zone like "Europe/Berlin" or "UTC", got ${
        JSON.stringify(ctx.value)
      }`,
    });
  }
});

const command = z.union([z.string(), z.array(z.string())], {
  error: (issue) =>
    `expected a command: an array of strings like ["python", "x.py"] or one string, got ${
      describeValue(issue.input)
    }`,
}).check((ctx) => {
  let words: string[];
  try {
    words = typeof ctx.value === "string" ? splitWords(ctx.value) : ctx.value;
  } catch (error) {
    ctx.issues.push({ code: "custom", input: ctx.value, message: lowerFirst(error) });
    return;
  }
  if (words.length === 0 || words[0] === "") {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected a non-empty command, got ${JSON.stringify(ctx.value)}`,
    });
  }
});

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

/** `[defaults]`: the keys a script may inherit. */
export const scriptDefaultsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  stop_signal: z.enum(STOP_SIGNALS).optional(),
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
}).superRefine((script, ctx) => {
  if (script.timezone !== undefined && script.schedule === undefined) {
    ctx.addIssue({
      code: "custom",
      input: script.timezone,
      path: ["timezone"],
      message: `expected timezone only together with schedule, got ${
        JSON.stringify(script.timezone)
      } without one`,
    });
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
});

/** The whole file as written; `[env.<name>]` overlays are merged before validation. */
export const agentConfigSchema = z.strictObject({
  agent: agentSchema.optional(),
  defaults: scriptDefaultsSchema.optional(),
  scripts: z.record(z.string(), scriptSchema).superRefine((scripts, ctx) => {
    for (const name of Object.keys(scripts)) {
      if (!NAME_PATTERN.test(name)) {
        ctx.addIssue({
          code: "custom",
          input: name,
          path: [name],
          message: `expected a script name of letters, digits, "_" and "-", got ${
            JSON.stringify(name)
          }`,
        });
      }
    }
  }, ALWAYS).optional(),
  env: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

/** The agent's config as written in TOML (all keys optional). */
export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** `[scripts.<name>]` as written. */
export type ScriptConfig = z.infer<typeof scriptSchema>;

/** A value as config messages show it: strings quoted, tables named. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return truncate(JSON.stringify(value));
  if (typeof value === "object" && value !== null) return "a table";
  return truncate(JSON.stringify(value) ?? String(value));
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function lowerFirst(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/**
 * Turns a validated config as written into a `ResolvedAgentConfig`: applies
 * `[defaults]` and {@linkcode CONFIG_DEFAULTS}, converts units, makes paths
 * absolute, splits string commands into words.
 *
 * @module
 */

import { dirname, isAbsolute, join, normalize, resolve, win32 } from "node:path";
import { formatDuration, parseDuration, parseSize } from "../shared/units.ts";
import { splitWords } from "./_words.ts";
import { type AgentConfig, CONFIG_DEFAULTS, type ScriptConfig } from "./config_schema.ts";
import type { ResolvedAgentConfig, ResolvedScript } from "./config_types.ts";

/** A problem only visible once defaults are applied (no line yet). */
export interface ResolveIssue {
  path: string;
  message: string;
}

/** Resolves `config` read from the file at `options.path` (relative to the working directory). */
export function resolveConfig(
  config: AgentConfig,
  options: { path: string; envName?: string },
): { config: ResolvedAgentConfig } | { issues: ResolveIssue[] } {
  const path = resolve(options.path);
  const base = dirname(path);
  const agent = config.agent ?? {};
  const dataDir = resolvePath(base, agent.data_dir ?? CONFIG_DEFAULTS.agent.data_dir);
  const issues: ResolveIssue[] = [];
  const scripts: Record<string, ResolvedScript> = {};
  for (const [name, script] of Object.entries(config.scripts ?? {})) {
    scripts[name] = resolveScript(name, script, { base, defaults: config.defaults ?? {}, issues });
  }
  if (issues.length > 0) return { issues };
  return {
    config: {
      path,
      ...(options.envName === undefined ? {} : { envName: options.envName }),
      agent: {
        site: agent.site ?? CONFIG_DEFAULTS.agent.site,
        host: agent.host ?? Deno.hostname(),
        dataDir,
        logDir: agent.log_dir === undefined
          ? join(dataDir, CONFIG_DEFAULTS.agent.log_subdir)
          : resolvePath(base, agent.log_dir),
        apiPort: agent.api_port ?? CONFIG_DEFAULTS.agent.api_port,
        logLevel: agent.log_level ?? CONFIG_DEFAULTS.agent.log_level,
      },
      scripts,
    },
  };
}

/** An absolute path; Windows drive paths like "C:/fc" are kept as written on any OS. */
export function resolvePath(base: string, path: string): string {
  if (!isAbsolute(path) && win32.isAbsolute(path)) return path;
  return normalize(resolve(base, path));
}

function resolveScript(
  name: string,
  script: ScriptConfig,
  context: { base: string; defaults: NonNullable<AgentConfig["defaults"]>; issues: ResolveIssue[] },
): ResolvedScript {
  const { defaults } = context;
  const fallback = CONFIG_DEFAULTS.script;
  const restart = { ...fallback.restart, ...defaults.restart, ...script.restart };
  const log = { ...fallback.log, ...defaults.log, ...script.log };
  const minDelayMs = parseDuration(restart.min_delay);
  const maxDelayMs = parseDuration(restart.max_delay);
  if (maxDelayMs < minDelayMs) {
    context.issues.push({
      path: `scripts.${name}.restart.max_delay`,
      message: `expected max_delay >= min_delay (${
        formatDuration(minDelayMs)
      }), got "${restart.max_delay}"`,
    });
  }
  const timezone = script.timezone ?? defaults.timezone;
  return {
    name,
    command: typeof script.command === "string" ? splitWords(script.command) : [...script.command],
    cwd: resolvePath(context.base, script.cwd ?? "."),
    env: { ...script.env },
    enabled: script.enabled ?? defaults.enabled ?? fallback.enabled,
    restart: {
      policy: restart.policy,
      minDelayMs,
      maxDelayMs,
      multiplier: restart.multiplier,
      jitter: restart.jitter,
      resetAfterMs: parseDuration(restart.reset_after),
      maxRestarts: restart.max_restarts,
      windowMs: parseDuration(restart.window),
    },
    stopSignal: script.stop_signal ?? defaults.stop_signal ?? fallback.stop_signal,
    stopTimeoutMs: parseDuration(
      script.stop_timeout ?? defaults.stop_timeout ?? fallback.stop_timeout,
    ),
    log: {
      maxSizeBytes: parseSize(log.max_size),
      maxAgeMs: parseDuration(log.max_age),
      keep: log.keep,
    },
    ...(script.schedule === undefined ? {} : {
      schedule: { cron: script.schedule, ...(timezone === undefined ? {} : { timezone }) },
    }),
  };
}

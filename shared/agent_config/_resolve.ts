/**
 * Turns a validated config as written into a `ResolvedAgentConfig`: applies
 * `[defaults]` and {@linkcode CONFIG_DEFAULTS}, converts units, makes paths
 * absolute, splits string commands into words.
 *
 * @module
 */

import { dirname, isAbsolute, join, normalize, resolve, win32 } from "node:path";
import { formatDuration } from "../config/units.ts";
import { bytesOf, msOf, type Size, textOf } from "../config/zod_units.ts";
import { splitWords } from "./words.ts";
import {
  type ActionConfig,
  type AgentConfig,
  CONFIG_DEFAULTS,
  type ProbeConfig,
  type ScriptConfig,
  WINDOWS_STOP_SIGNALS,
} from "./schema.ts";
import type {
  ResolvedAction,
  ResolvedAgentConfig,
  ResolvedCollectorLink,
  ResolvedHealth,
  ResolvedProbe,
  ResolvedScript,
} from "./types.ts";
import { type ResolvedWebhook, resolveWebhook } from "../notify/webhook_schema.ts";
import { resolveNotifyPolicy, unknownCalendars, unknownWebhooks } from "../notify/policy_schema.ts";
import { type Calendar, resolveCalendars } from "../calendar/mod.ts";
import { resolveToken } from "./token_schema.ts";
import type { ResolvedToken } from "./token_types.ts";

/** A probe's default `min_interval` is a quarter of its interval, but not under this. */
const MIN_PROBE_FLOOR_MS = 1000;

/** A problem only visible once defaults are applied (no line yet). */
export interface ResolveIssue {
  path: string;
  message: string;
}

/**
 * Resolves `config` read from the file at `options.path` (relative to the working directory);
 * `defaultDataDir` is `data_dir` when the config does not set it (see `default_paths.ts`);
 * `readText` reads a calendar's `holidays_file`.
 */
export function resolveConfig(
  config: AgentConfig,
  options: {
    path: string;
    envName?: string;
    defaultDataDir?: string;
    readText: (path: string) => string;
  },
): { config: ResolvedAgentConfig } | { issues: ResolveIssue[] } {
  const path = resolve(options.path);
  const base = dirname(path);
  const agent = config.agent ?? {};
  const dataDir = resolvePath(
    base,
    agent.data_dir ?? options.defaultDataDir ?? CONFIG_DEFAULTS.agent.data_dir,
  );
  const issues: ResolveIssue[] = [];
  const resolvedCalendars = resolveCalendars(config.calendars, {
    base,
    readText: options.readText,
  });
  const calendars = resolvedCalendars.calendars;
  issues.push(...resolvedCalendars.issues);
  const siteCalendar = agent.calendar === undefined ? undefined : calendars.get(agent.calendar);
  if (agent.calendar !== undefined && siteCalendar === undefined) {
    issues.push(unknownCalendar("agent.calendar", agent.calendar, calendars));
  }
  const scripts: Record<string, ResolvedScript> = {};
  for (const [name, script] of Object.entries(config.scripts ?? {})) {
    scripts[name] = resolveScript(name, script, {
      base,
      defaults: config.defaults ?? {},
      issues,
      calendars,
      siteCalendar,
    });
    if (script.singleton === "site" && config.collector === undefined) {
      issues.push({
        path: `scripts.${name}.singleton`,
        message: `expected singleton = "site" only together with a [collector] table (the site ` +
          `lease is held at the collector; "machine" needs none), got ${
            JSON.stringify(script.singleton)
          } without one`,
      });
    }
    if (script.replicas !== undefined && script.singleton !== "site") {
      issues.push({
        path: `scripts.${name}.replicas`,
        message: `expected replicas only with singleton = "site" (the copies are spread over ` +
          `the site's agents by the collector's leases), got ${script.replicas}`,
      });
    }
  }
  const webhooks: Record<string, ResolvedWebhook> = {};
  for (const [name, webhook] of Object.entries(config.webhooks ?? {})) {
    const resolved = resolveWebhook(name, webhook);
    webhooks[name] = resolved.kind === "email" && resolved.caFile
      ? { ...resolved, caFile: resolvePath(base, resolved.caFile) }
      : resolved;
  }
  for (const [name, webhook] of Object.entries(config.webhooks ?? {})) {
    if (webhook.dedupe_scope === "site" && config.collector === undefined) {
      issues.push({
        path: `webhooks.${name}.dedupe_scope`,
        message: `expected dedupe_scope = "site" only together with a [collector] table (the ` +
          `claims are made at the collector), got "site" without one`,
      });
    }
  }
  const tokens: Record<string, ResolvedToken> = {};
  for (const [name, token] of Object.entries(config.tokens ?? {})) {
    tokens[name] = resolveToken(name, token, { base, resolvePath });
    (token.used_by ?? []).forEach((script, index) => {
      if (!(script in scripts)) {
        issues.push({
          path: `tokens.${name}.used_by.${index}`,
          message: `expected the name of a script in [scripts], got ${
            JSON.stringify(script)
          } (known: ${Object.keys(scripts).join(", ") || "none"})`,
        });
      }
    });
  }
  for (const issue of unknownWebhooks(config.notify ?? {}, Object.keys(webhooks))) {
    issues.push({ path: `notify.${issue.path}`, message: issue.message });
  }
  for (const issue of unknownCalendars(config.notify ?? {}, calendars)) {
    issues.push({ path: `notify.${issue.path}`, message: issue.message });
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
          ? joinPath(dataDir, CONFIG_DEFAULTS.agent.log_subdir)
          : resolvePath(base, agent.log_dir),
        apiPort: agent.api_port ?? CONFIG_DEFAULTS.agent.api_port,
        logLevel: agent.log_level ?? CONFIG_DEFAULTS.agent.log_level,
        sampleIntervalMs: msOf(
          agent.sample_interval ?? CONFIG_DEFAULTS.agent.sample_interval,
        ),
        ...(agent.memory_warn === undefined ? {} : { memoryWarnBytes: bytesOf(agent.memory_warn) }),
        diskWarnBytes: bytesOf(agent.disk_warn ?? CONFIG_DEFAULTS.agent.disk_warn),
        historyMs: msOf(agent.history ?? CONFIG_DEFAULTS.agent.history),
        logDirMaxBytes: bytesOf(agent.log_dir_max ?? CONFIG_DEFAULTS.agent.log_dir_max),
      },
      scripts,
      webhooks,
      notify: resolveNotifyPolicy(config.notify ?? {}, { calendars }),
      ...(config.collector === undefined ? {} : { collector: resolveCollector(config.collector) }),
      tokens,
      calendars,
    },
  };
}

/** An issue for a key naming a calendar there is no `[calendars.<name>]` table for. */
function unknownCalendar(
  path: string,
  name: string,
  calendars: ReadonlyMap<string, unknown>,
): ResolveIssue {
  return {
    path,
    message: `expected the name of a [calendars.<name>] table${
      calendars.size === 0 ? " (there are none)" : ` (${[...calendars.keys()].join(", ")})`
    }, got ${JSON.stringify(name)}`,
  };
}

function resolveCollector(collector: NonNullable<AgentConfig["collector"]>): ResolvedCollectorLink {
  const fallback = CONFIG_DEFAULTS.collector;
  const urls = (typeof collector.url === "string" ? [collector.url] : collector.url).map((text) => {
    const url = new URL(text);
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    return url.href;
  });
  return {
    url: urls[0],
    urls,
    token: collector.token,
    heartbeatIntervalMs: msOf(collector.heartbeat_interval ?? fallback.heartbeat_interval),
    batchSize: collector.batch_size ?? fallback.batch_size,
    spoolLimit: collector.spool_limit ?? fallback.spool_limit,
    timeoutMs: msOf(collector.timeout ?? fallback.timeout),
    leaseTtlMs: msOf(collector.lease_ttl ?? fallback.lease_ttl),
  };
}

/** An absolute path; Windows drive paths like "C:/fc" are kept as written on any OS. */
export function resolvePath(base: string, path: string): string {
  if (!isAbsolute(path) && win32.isAbsolute(path)) return path;
  return normalize(resolve(base, path));
}

/** `name` inside `dir`, with Windows separators when `dir` is a Windows path (tests on Linux). */
function joinPath(dir: string, name: string): string {
  return !isAbsolute(dir) && win32.isAbsolute(dir) ? win32.join(dir, name) : join(dir, name);
}

function resolveScript(
  name: string,
  script: ScriptConfig,
  context: {
    base: string;
    defaults: NonNullable<AgentConfig["defaults"]>;
    issues: ResolveIssue[];
    calendars: ReadonlyMap<string, Calendar>;
    /** `[agent] calendar`: the holidays of `skip_on` when the script has no `active`. */
    siteCalendar?: Calendar;
  },
): ResolvedScript {
  const { defaults } = context;
  const fallback = CONFIG_DEFAULTS.script;
  const activeCalendar = script.active === undefined
    ? undefined
    : context.calendars.get(script.active);
  if (script.active !== undefined && activeCalendar === undefined) {
    context.issues.push(
      unknownCalendar(`scripts.${name}.active`, script.active, context.calendars),
    );
  }
  const holidaysOf = activeCalendar ?? context.siteCalendar;
  if (script.skip_on !== undefined && holidaysOf === undefined) {
    context.issues.push({
      path: `scripts.${name}.skip_on`,
      message: 'expected skip_on = ["holidays"] with a calendar to take them from (the ' +
        "script's active, or [agent] calendar), got it without one",
    });
  }
  const restart = { ...fallback.restart, ...defaults.restart, ...script.restart };
  const log = { ...fallback.log, ...defaults.log, ...script.log };
  const minDelayMs = msOf(restart.min_delay);
  const maxDelayMs = msOf(restart.max_delay);
  if (maxDelayMs < minDelayMs) {
    context.issues.push({
      path: `scripts.${name}.restart.max_delay`,
      message: `expected max_delay >= min_delay (${formatDuration(minDelayMs)}), got "${
        textOf(restart.max_delay)
      }"`,
    });
  }
  const timezone = script.timezone ?? defaults.timezone;
  const cwd = resolvePath(context.base, script.cwd ?? ".");
  return {
    name,
    command: typeof script.command === "string" ? splitWords(script.command) : [...script.command],
    cwd,
    env: { ...script.env },
    enabled: script.enabled ?? defaults.enabled ?? fallback.enabled,
    restart: {
      policy: restart.policy,
      minDelayMs,
      maxDelayMs,
      multiplier: restart.multiplier,
      jitter: restart.jitter,
      resetAfterMs: msOf(restart.reset_after),
      maxRestarts: restart.max_restarts,
      windowMs: msOf(restart.window),
    },
    stopSignal: signalOf(script.stop_signal ?? defaults.stop_signal ?? fallback.stop_signal),
    stopTimeoutMs: msOf(
      script.stop_timeout ?? defaults.stop_timeout ?? fallback.stop_timeout,
    ),
    log: {
      maxSizeBytes: bytesOf(log.max_size),
      maxAgeMs: msOf(log.max_age),
      keep: log.keep,
    },
    ...(script.schedule === undefined ? {} : {
      schedule: { cron: script.schedule, ...(timezone === undefined ? {} : { timezone }) },
    }),
    health: resolveHealth(`scripts.${name}`, script, { ...context, cwd }),
    ...(script.singleton === undefined ? {} : { singleton: script.singleton }),
    ...(script.replicas === undefined ? {} : { replicas: script.replicas }),
    ...(script.anomalies === false ? { anomalies: false as const } : {}),
    ...(activeCalendar === undefined ? {} : {
      active: {
        calendar: activeCalendar,
        offHours: script.off_hours ?? fallback.off_hours,
        relaxFactor: script.relax_factor ?? fallback.relax_factor,
      },
    }),
    ...(script.skip_on === undefined || holidaysOf === undefined
      ? {}
      : { skipHolidays: holidaysOf }),
  };
}

function resolveHealth(
  at: string,
  script: ScriptConfig,
  context: { base: string; cwd: string; issues: ResolveIssue[] },
): ResolvedHealth {
  const fallback = CONFIG_DEFAULTS.health;
  const health: ResolvedHealth = { probes: [] };
  if (script.heartbeat_timeout !== undefined) {
    health.heartbeat = {
      timeoutMs: msOf(script.heartbeat_timeout),
      graceMs: msOf(script.grace ?? fallback.grace),
      ...(script.heartbeat_file === undefined
        ? {}
        : { file: resolvePath(context.base, script.heartbeat_file) }),
      action: resolveAction(script.heartbeat_action ?? fallback.heartbeat_action),
    };
  }
  if (script.silence_timeout !== undefined) {
    health.silence = {
      timeoutMs: msOf(script.silence_timeout),
      action: resolveAction(script.silence_action ?? fallback.silence_action),
    };
  }
  (script.probes ?? []).forEach((written, index) => {
    const probe = resolveProbe(written, index, context);
    if (health.probes.some((earlier) => earlier.name === probe.name)) {
      context.issues.push({
        path: `${at}.probes.${index}.name`,
        message: `expected a probe name unique within the script, got ${
          JSON.stringify(probe.name)
        } a second time${written.name === undefined ? " (the default name of this probe)" : ""}`,
      });
    }
    if (probe.minIntervalMs > probe.intervalMs) {
      context.issues.push({
        path: `${at}.probes.${index}.min_interval`,
        message: `expected min_interval ≤ interval (${formatDuration(probe.intervalMs)}), got ${
          JSON.stringify(textOf(written.min_interval!))
        }`,
      });
    }
    if (probe.maxIntervalMs < probe.intervalMs) {
      context.issues.push({
        path: `${at}.probes.${index}.max_interval`,
        message: `expected max_interval ≥ interval (${formatDuration(probe.intervalMs)}), got ${
          JSON.stringify(textOf(written.max_interval!))
        }`,
      });
    }
    if (probe.timeoutMs >= probe.intervalMs) {
      const timeout = written.timeout ?? fallback.probes.timeout;
      context.issues.push({
        path: `${at}.probes.${index}.timeout`,
        message: `expected timeout < interval (${formatDuration(probe.intervalMs)}), got ${
          JSON.stringify(textOf(timeout))
        }${written.timeout === undefined ? " (the default)" : ""}`,
      });
    }
    health.probes.push(probe);
  });
  const limits = script.limits;
  if (limits !== undefined) {
    const bytes = (size: Size | undefined) => size === undefined ? undefined : bytesOf(size);
    health.limits = withoutUndefined({
      memoryWarnBytes: bytes(limits.memory_warn),
      memoryRestartBytes: bytes(limits.memory_restart),
      cpuWarnPercent: limits.cpu_warn,
      cpuRestartPercent: limits.cpu_restart,
      samples: limits.samples ?? fallback.limits.samples,
    });
  }
  return health;
}

function resolveProbe(
  probe: ProbeConfig,
  index: number,
  context: { base: string; cwd: string },
): ResolvedProbe {
  const fallback = CONFIG_DEFAULTS.health.probes;
  const intervalMs = msOf(probe.interval ?? fallback.interval);
  const common = {
    name: probe.name ?? `${probe.kind}-${index + 1}`,
    intervalMs,
    minIntervalMs: probe.min_interval === undefined
      ? Math.min(intervalMs, Math.max(MIN_PROBE_FLOOR_MS, intervalMs / 4))
      : msOf(probe.min_interval),
    maxIntervalMs: probe.max_interval === undefined ? intervalMs : msOf(probe.max_interval),
    timeoutMs: msOf(probe.timeout ?? fallback.timeout),
    failures: probe.failures ?? fallback.failures,
    action: resolveAction(probe.action ?? fallback.action),
  };
  switch (probe.kind) {
    case "http":
      return {
        kind: "http",
        ...common,
        url: probe.url,
        method: probe.method ?? fallback.method,
        status: probe.status ?? fallback.status,
        ...(probe.body === undefined ? {} : { body: probe.body }),
      };
    case "tcp":
      return { kind: "tcp", ...common, host: probe.host, port: probe.port };
    case "exec":
      return {
        kind: "exec",
        ...common,
        command: typeof probe.command === "string" ? splitWords(probe.command) : [...probe.command],
        cwd: probe.cwd === undefined ? context.cwd : resolvePath(context.base, probe.cwd),
      };
  }
}

function resolveAction(action: ActionConfig): ResolvedAction {
  const actions: readonly string[] = typeof action === "string" ? [action] : action;
  return { alert: actions.includes("alert"), restart: actions.includes("restart") };
}

/** `value` without its undefined keys, so optional fields are absent rather than undefined. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, inner]) => inner !== undefined),
  ) as T;
}

/** A `stop_signal` as the platform sends it: a Windows name (`ctrl-break`) as its signal. */
function signalOf(name: string): Deno.Signal {
  return name in WINDOWS_STOP_SIGNALS
    ? WINDOWS_STOP_SIGNALS[name as keyof typeof WINDOWS_STOP_SIGNALS]
    : name as Deno.Signal;
}

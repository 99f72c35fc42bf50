/**
 * Reads the collector's TOML config into a `ResolvedCollectorConfig`:
 * parse → Windows paths checked → `${VAR}` interpolation → schema validation (strict keys) →
 * defaults, milliseconds and absolute paths. Every problem is reported at
 * once, each with its key path and line, in one `ConfigError`.
 *
 * @module
 */

import { ConfigError, type ConfigIssue } from "../../shared/config/config_error.ts";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseToml } from "../../shared/config/parse_toml.ts";
import { msOf, textOf } from "../../shared/config/zod_units.ts";
import { type ResolvedWebhook, resolveWebhook } from "../../shared/notify/webhook_schema.ts";
import {
  type ResolvedNotifyPolicy,
  resolveNotifyPolicy,
  unknownCalendars,
  unknownWebhooks,
} from "../../shared/notify/policy_schema.ts";
import { resolveCalendars } from "../../shared/calendar/mod.ts";
import { type ResolvedReport, resolveReports } from "../fleet/report_schedule.ts";
import { interpolateTree } from "../../shared/config/interpolate_tree.ts";
import { readConfigFile } from "../../shared/config/config_file.ts";
import { findLine, scanKeyLines } from "../../shared/config/toml_lines.ts";
import { describeIssue } from "../../shared/config/zod_issue.ts";
import { windowsPathIssues } from "../../shared/config/windows_paths.ts";
import {
  COLLECTOR_DEFAULTS,
  type CollectorConfig,
  collectorConfigSchema,
  LOG_LEVELS,
  parseListen,
} from "./schema.ts";

export { ConfigError, type ConfigIssue } from "../../shared/config/config_error.ts";

/** The collector's config after {@linkcode parseConfig}: defaults applied, units parsed. */
export interface ResolvedCollectorConfig {
  /** The file it came from (absolute). */
  path: string;
  listen: { hostname: string; port: number };
  /** Absolute; holds the KV file. */
  dataDir: string;
  /** Where the store lives: the KV file in `dataDir`, or a PostgreSQL database shared by replicas. */
  store: { kind: "kv" } | { kind: "postgres"; url: string };
  /** An agent silent this long goes offline. */
  offlineAfterMs: number;
  /** Events older than this are purged. */
  retentionMs: number;
  /** Daily uptime rollups older than this are purged. */
  rollupRetentionMs: number;
  /** Audit entries older than this are purged (the chain keeps an anchor). */
  auditRetentionMs: number;
  /** How long a queued command stays deliverable. */
  commandTtlMs: number;
  /** The periodic work's leader lease lasts this long unless renewed (every third of it). */
  leaderTtlMs: number;
  /** At most this many open long-polls at once. */
  maxWaiters: number;
  /** Absolute paths; HTTPS when present. */
  tls?: { certFile: string; keyFile: string };
  logLevel: typeof LOG_LEVELS[number];
  webhooks: Record<string, ResolvedWebhook>;
  notify: ResolvedNotifyPolicy;
  /** `[[reports]]`: digests sent on a schedule. */
  reports: ResolvedReport[];
}

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** The file the text came from: names it in errors and anchors relative paths. */
  path: string;
  /** Variables for `${VAR}`; default `Deno.env.toObject()`. */
  vars?: Readonly<Record<string, string | undefined>>;
  /** The key of `enc:v1:` values; none: such a value is a problem. */
  secretKey?: Uint8Array | null;
}

/**
 * Parses, interpolates, validates and resolves config text. Reads no files.
 *
 * @throws {ConfigError} listing every problem found.
 */
export function parseConfig(text: string, options: ParseConfigOptions): ResolvedCollectorConfig {
  const file = options.path;
  const raw = parseToml(text, file);
  const lines = scanKeyLines(text);
  const lineOf = (path: string) => path === "" ? undefined : findLine(lines, path.split("."));
  const interpolated = interpolateTree(raw, {
    vars: options.vars ?? Deno.env.toObject(),
    secretKey: options.secretKey ?? null,
  });
  const issues: ConfigIssue[] = [
    ...windowsPathIssues(raw, lines),
    ...interpolated.problems.map((p) => ({ ...p, line: lineOf(p.path) })),
  ];
  const failed = new Set(interpolated.problems.map((p) => p.path));
  const result = collectorConfigSchema.safeParse(interpolated.value, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const problem of describeIssue(issue, { schema: collectorConfigSchema })) {
        if (failed.has(problem.path)) continue; // reported as a missing variable
        issues.push({ ...problem, line: lineOf(problem.path) });
      }
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, { file });
  const resolved = resolveConfig(result.data, file);
  if (resolved.issues.length > 0) {
    throw new ConfigError(
      resolved.issues.map((issue) => ({ ...issue, line: lineOf(issue.path) })),
      { file },
    );
  }
  return resolved.config;
}

/**
 * Reads and parses a config file.
 *
 * @throws {ConfigError} when the file cannot be read or has problems.
 */
export async function loadConfig(
  path: string,
  options: Omit<ParseConfigOptions, "path"> = {},
): Promise<ResolvedCollectorConfig> {
  const { text, secretKey } = await readConfigFile(path, options, Deno);
  return parseConfig(text, { ...options, path, secretKey });
}

function resolveConfig(
  config: CollectorConfig,
  file: string,
): { config: ResolvedCollectorConfig; issues: ConfigIssue[] } {
  const base = dirname(resolve(file));
  const at = (path: string) => isAbsolute(path) ? path : resolve(base, path);
  const c = config.collector ?? {};
  const issues: ConfigIssue[] = [];
  if ((c.tls_cert === undefined) !== (c.tls_key === undefined)) {
    const missing = c.tls_cert === undefined ? "tls_cert" : "tls_key";
    const present = missing === "tls_cert" ? "tls_key" : "tls_cert";
    issues.push({
      path: `collector.${present}`,
      message:
        `expected ${missing} too (HTTPS needs both a certificate and a key), got only ${present}`,
    });
  }
  const retentionMs = msOf(c.retention ?? COLLECTOR_DEFAULTS.retention);
  const rollupRetentionMs = msOf(
    c.rollup_retention ?? COLLECTOR_DEFAULTS.rollup_retention,
  );
  // Days are rolled up from the state changes the events' retention still holds.
  // A day is rolled up a little after it ends, from what the events' retention still holds.
  if (retentionMs < 2 * 86_400_000) {
    issues.push({
      path: "collector.retention",
      message: `expected at least 2d (whole days are rolled up from it), got "${
        textOf(c.retention ?? COLLECTOR_DEFAULTS.retention)
      }"`,
    });
  }
  if (rollupRetentionMs < retentionMs) {
    issues.push({
      path: "collector.rollup_retention",
      message: `expected at least retention (${
        textOf(c.retention ?? COLLECTOR_DEFAULTS.retention)
      }), got "${textOf(c.rollup_retention ?? COLLECTOR_DEFAULTS.rollup_retention)}"`,
    });
  }
  const webhooks: Record<string, ResolvedWebhook> = {};
  for (const [name, webhook] of Object.entries(config.webhooks ?? {})) {
    const resolved = resolveWebhook(name, webhook);
    webhooks[name] = resolved.kind === "email" && resolved.caFile
      ? { ...resolved, caFile: at(resolved.caFile) }
      : resolved;
  }
  for (const issue of unknownWebhooks(config.notify ?? {}, Object.keys(webhooks))) {
    issues.push({ path: `notify.${issue.path}`, message: issue.message });
  }
  const { calendars, issues: calendarIssues } = resolveCalendars(config.calendars, {
    base,
    readText: Deno.readTextFileSync,
  });
  issues.push(...calendarIssues);
  for (const issue of unknownCalendars(config.notify ?? {}, calendars)) {
    issues.push({ path: `notify.${issue.path}`, message: issue.message });
  }
  const reportNames = new Set<string>();
  resolveReports(config.reports).forEach((report, index) => {
    if (reportNames.has(report.name)) {
      issues.push({
        path: `reports.${index}.name`,
        message: `expected a name no other report has (it keys what was sent), got ${
          JSON.stringify(report.name)
        }${config.reports![index].name === undefined ? " (the default <site>-<every>)" : ""}`,
      });
    }
    reportNames.add(report.name);
  });
  (config.reports ?? []).forEach((report, index) => {
    report.webhooks.forEach((name, at) => {
      if (name in webhooks) return;
      issues.push({
        path: `reports.${index}.webhooks.${at}`,
        message: `unknown webhook ${JSON.stringify(name)}; expected one of ${
          Object.keys(webhooks).join(", ") || "(none configured)"
        }`,
      });
    });
  });
  return {
    issues,
    config: {
      path: resolve(file),
      listen: parseListen(c.listen ?? COLLECTOR_DEFAULTS.listen),
      dataDir: at(c.data_dir ?? COLLECTOR_DEFAULTS.data_dir),
      store: (c.store ?? COLLECTOR_DEFAULTS.store) === "kv"
        ? { kind: "kv" }
        : { kind: "postgres", url: c.store! },
      offlineAfterMs: msOf(c.offline_after ?? COLLECTOR_DEFAULTS.offline_after),
      retentionMs,
      rollupRetentionMs,
      auditRetentionMs: msOf(c.audit_retention ?? COLLECTOR_DEFAULTS.audit_retention),
      commandTtlMs: msOf(c.command_ttl ?? COLLECTOR_DEFAULTS.command_ttl),
      leaderTtlMs: msOf(c.leader_ttl ?? COLLECTOR_DEFAULTS.leader_ttl),
      maxWaiters: c.max_waiters ?? COLLECTOR_DEFAULTS.max_waiters,
      ...(c.tls_cert !== undefined && c.tls_key !== undefined
        ? { tls: { certFile: at(c.tls_cert), keyFile: at(c.tls_key) } }
        : {}),
      logLevel: c.log_level ?? COLLECTOR_DEFAULTS.log_level,
      webhooks,
      notify: resolveNotifyPolicy(config.notify ?? {}, { calendars }),
      reports: resolveReports(config.reports),
    },
  };
}

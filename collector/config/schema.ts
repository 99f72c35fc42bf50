/**
 * The collector's TOML configuration as written: every key optional,
 * unknown keys rejected, durations parsed (`{ text, ms }`). `load.ts` applies
 * {@linkcode COLLECTOR_DEFAULTS} and resolves it into a
 * `ResolvedCollectorConfig`.
 *
 * @module
 */

import { calendarsSchema } from "../../shared/calendar/mod.ts";
import { reportSchema } from "../fleet/report_schedule.ts";
import { z } from "zod";
import { customIssue as custom, positiveDuration } from "../../shared/config/zod_units.ts";
import { NAME_PATTERN, namedRecord } from "../../shared/config/named_record.ts";
import { webhookSchema } from "../../shared/notify/webhook_schema.ts";
import { notifyPolicySchema } from "../../shared/notify/policy_schema.ts";

/** Every default of `[collector]`, in the units of the TOML file. */
export const COLLECTOR_DEFAULTS = {
  listen: "127.0.0.1:8790",
  data_dir: "./collector-data",
  store: "kv",
  offline_after: "30s",
  retention: "30d",
  rollup_retention: "400d",
  audit_retention: "2557d",
  command_ttl: "5m",
  leader_ttl: "10s",
  max_waiters: 10_000,
  log_level: "info",
} as const;

/** Log levels `log_level` accepts. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** Webhook names: letters, digits, "_" and "-". */
export { NAME_PATTERN };

/** `host:port`, `[v6]:port`; the port 1..65535 (0 asks the OS for a free one). */
export function parseListen(text: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new SyntaxError(
      `Expected an address like "127.0.0.1:8790" or "[::1]:8790", got ${JSON.stringify(text)}`,
    );
  }
  return { hostname: match[1] ?? match[2], port };
}

const listen = z.string().check((ctx) => {
  try {
    parseListen(ctx.value);
  } catch {
    ctx.issues.push(
      custom(
        ctx.value,
        `expected an address like "127.0.0.1:8790" or "[::1]:8790", got ${
          JSON.stringify(ctx.value)
        }`,
      ),
    );
  }
});

const nonEmpty = z.string().min(1);

/** `"kv"` (the Deno KV file in data_dir) or a PostgreSQL URL; the URL may hold a password. */
const store = z.string().check((ctx) => {
  if (ctx.value === "kv" || /^postgres(ql)?:\/\/\S+$/.test(ctx.value)) return;
  // Only the start is quoted: a mistyped URL may carry a password.
  const start = JSON.stringify(ctx.value.length > 12 ? `${ctx.value.slice(0, 12)}…` : ctx.value);
  ctx.issues.push(
    custom(start, `expected "kv" or a "postgres://user:password@host/database" URL, got ${start}`),
  );
});

/** `[collector]` as written. */
export const collectorSchema = z.strictObject({
  listen: listen.optional(),
  data_dir: nonEmpty.optional(),
  store: store.optional(),
  offline_after: positiveDuration.optional(),
  retention: positiveDuration.optional(),
  rollup_retention: positiveDuration.optional(),
  audit_retention: positiveDuration.optional(),
  command_ttl: positiveDuration.optional(),
  leader_ttl: positiveDuration.optional(),
  max_waiters: z.number().int().positive().optional(),
  tls_cert: nonEmpty.optional(),
  tls_key: nonEmpty.optional(),
  log_level: z.enum(LOG_LEVELS).optional(),
});

/** The whole collector file as written. */
export const collectorConfigSchema = z.strictObject({
  collector: collectorSchema.optional(),
  webhooks: namedRecord(webhookSchema, "webhook").optional(),
  notify: notifyPolicySchema.optional(),
  /** `[calendars.<name>]`: shifts and holidays routes can follow (`calendar = "<name>"`). */
  calendars: calendarsSchema.optional(),
  /** `[[reports]]`: digests sent on a schedule. */
  reports: z.array(reportSchema).optional(),
});

/** The collector's config as written in TOML (all keys optional, durations as strings). */
export type CollectorConfigInput = z.input<typeof collectorConfigSchema>;

/** The collector's config as written, validated: durations parsed, no defaults applied. */
export type CollectorConfig = z.infer<typeof collectorConfigSchema>;

/**
 * The `[notify]` table as written (zod, unknown keys rejected) and its
 * resolution into a {@linkcode ResolvedNotifyPolicy} with durations in
 * milliseconds, hours parsed and defaults applied. The agent's and the
 * collector's config schemas embed {@linkcode notifyPolicySchema}.
 *
 * ```toml
 * [notify]
 * group_wait = "30s"
 * for = "1m"
 * for_rule = { crash-looping = "0s" }
 * repeat_interval = "4h"
 * send_resolved = true
 * link = "https://scriptmon.example/fleet"
 *
 * [[notify.routes]]
 * webhooks = ["ops"]
 * severity = ["critical", "warning"]
 * match = { site = "BFI4", script = "rates*" }
 * timezone = "America/Los_Angeles"
 * hours = ["Mon-Fri 08:00-18:00"]
 * continue = false
 *
 * [[notify.silences]]
 * match = { script = "rates" }
 * until = "2026-12-31T23:59:00Z"
 * comment = "migrating the rates box"
 * ```
 *
 * @module
 */

import { z } from "zod";
import { customIssue, duration, msOf, positiveDuration, timezone } from "../config/zod_units.ts";
import { type Calendar, parseSpans, type WeeklySpan } from "../calendar/mod.ts";
import type { AlertMatcher, Silence } from "./silences.ts";
import type { Severity } from "./types.ts";

/** Every default of `[notify]`, in the units of the TOML file. */
export const NOTIFY_DEFAULTS = {
  group_wait: "30s",
  for: "0s",
  repeat_interval: "4h",
  send_resolved: true,
  /** Each `[[notify.routes]]`; `timezone` defaults to the machine's zone. */
  route: { severity: ["critical", "warning", "info"] as Severity[], continue: false },
} as const;

/** Severities, most severe first. */
export const SEVERITIES = ["critical", "warning", "info"] as const satisfies readonly Severity[];

const custom = customIssue;

const hoursSpec = z.string().check((ctx) => {
  try {
    parseSpans(ctx.value);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.issues.push(custom(ctx.value, message.charAt(0).toLowerCase() + message.slice(1)));
  }
});

const webhookNames = z.array(z.string().min(1)).check((ctx) => {
  if (ctx.value.length === 0) {
    ctx.issues.push(custom(ctx.value, "expected at least one webhook name, got []"));
  }
});

const severities = z.array(z.enum(SEVERITIES)).check((ctx) => {
  if (ctx.value.length === 0) {
    ctx.issues.push(
      custom(
        ctx.value,
        'expected at least one of "critical", "warning", "info" (leave severity out for all), got []',
      ),
    );
  }
});

const matcherFields = {
  site: z.string().optional(),
  host: z.string().optional(),
  script: z.string().optional(),
  check: z.string().optional(),
  rule: z.string().optional(),
};

/** A route's `match`: exact strings or `*` globs per alert field. */
const routeMatcher = z.strictObject(matcherFields);

/** A silence's `match`: the route fields plus `severity`. */
const silenceMatcher = z.strictObject({ ...matcherFields, severity: z.string().optional() });

/** An ISO time; TOML's own date-times arrive as `Date`s and are accepted too. */
const isoTime = z.union([z.string(), z.date()]).check((ctx) => {
  const value = ctx.value;
  const ok = value instanceof Date
    ? Number.isFinite(value.getTime())
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && Number.isFinite(Date.parse(value));
  if (!ok) {
    ctx.issues.push(
      custom(
        value,
        `expected an ISO time like "2026-12-31T23:59:00Z", got ${JSON.stringify(value)}`,
      ),
    );
  }
});

/** One `[[notify.routes]]` as written. */
export const routeSchema = z.strictObject({
  webhooks: webhookNames,
  severity: severities.optional(),
  match: routeMatcher.optional(),
  timezone: timezone.optional(),
  hours: z.array(hoursSpec).check((ctx) => {
    if (ctx.value.length === 0) {
      ctx.issues.push(
        custom(
          ctx.value,
          `expected at least one hours spec like "Mon-Fri 08:00-18:00" (leave hours out for always), got []`,
        ),
      );
    }
  }).optional(),
  /** A `[calendars.<name>]`: outside its open spans (and on its holidays) only critical goes. */
  calendar: z.string().min(1).optional(),
  continue: z.boolean().optional(),
}).superRefine((route, ctx) => {
  if (route.calendar === undefined) return;
  for (const key of ["hours", "timezone"] as const) {
    if (route[key] === undefined) continue;
    ctx.addIssue({
      code: "custom",
      path: [key],
      input: route[key],
      message: `expected either calendar or ${key}, got both (the calendar "${route.calendar}" ` +
        "has its own zone and hours)",
    });
  }
});

/** One `[[notify.silences]]` as written. */
export const silenceSchema = z.strictObject({
  id: z.string().min(1).optional(),
  match: silenceMatcher,
  until: isoTime,
  comment: z.string().optional(),
});

/** The `[notify]` table as written (all keys optional). */
export const notifyPolicySchema = z.strictObject({
  group_wait: duration.optional(),
  for: duration.optional(),
  for_rule: z.record(z.string(), duration).optional(),
  repeat_interval: positiveDuration.optional(),
  send_resolved: z.boolean().optional(),
  link: z.string().check((ctx) => {
    if (!URL.canParse(ctx.value)) {
      ctx.issues.push(custom(ctx.value, `expected a URL, got ${JSON.stringify(ctx.value)}`));
    }
  }).optional(),
  routes: z.array(routeSchema).optional(),
  silences: z.array(silenceSchema).optional(),
});

/** `[notify]` as written in TOML, validated: durations parsed. */
export type NotifyPolicyConfig = z.infer<typeof notifyPolicySchema>;

/** The `[notify]` table as written, before its durations are parsed. */
export type NotifyPolicyInput = z.input<typeof notifyPolicySchema>;

/** One `[[notify.routes]]` as written. */
export type RouteConfig = z.infer<typeof routeSchema>;

/** A route after resolution. */
export interface ResolvedRoute {
  /** Webhook (channel) names, in the order written. */
  webhooks: string[];
  /** Severities this route takes. */
  severity: Severity[];
  match: AlertMatcher;
  /** IANA zone the hours are read in. */
  timezone: string;
  /** Business hours; `undefined` means always. Outside them only critical alerts go out. */
  hours?: WeeklySpan[];
  /** A named calendar instead of `hours`: outside its open spans only critical alerts go out. */
  calendar?: Calendar;
  /** Also try the routes after this one when it matches. */
  continue: boolean;
}

/** `[notify]` after {@linkcode resolveNotifyPolicy}: milliseconds, parsed hours, defaults applied. */
export interface ResolvedNotifyPolicy {
  groupWaitMs: number;
  /** How long a firing condition must hold before it is sent. */
  forMs: number;
  /** Per-rule overrides of `forMs`. */
  forRuleMs: Record<string, number>;
  repeatIntervalMs: number;
  sendResolved: boolean;
  link?: string;
  /** First match wins (unless it says `continue`); none means alerts are recorded only. */
  routes: ResolvedRoute[];
  /** Silences from the config file, ids `config-1`, `config-2`, ... unless given. */
  silences: Silence[];
}

/**
 * Applies defaults to a validated `[notify]` table. `defaultTimezone` is the
 * zone of routes that name none (the machine's zone when not given).
 */
export function resolveNotifyPolicy(
  config: NotifyPolicyConfig = {},
  options: { defaultTimezone?: string; calendars?: ReadonlyMap<string, Calendar> } = {},
): ResolvedNotifyPolicy {
  const zone = options.defaultTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  return {
    groupWaitMs: msOf(config.group_wait ?? NOTIFY_DEFAULTS.group_wait),
    forMs: msOf(config.for ?? NOTIFY_DEFAULTS.for),
    forRuleMs: Object.fromEntries(
      Object.entries(config.for_rule ?? {}).map(([rule, text]) => [rule, msOf(text)]),
    ),
    repeatIntervalMs: msOf(config.repeat_interval ?? NOTIFY_DEFAULTS.repeat_interval),
    sendResolved: config.send_resolved ?? NOTIFY_DEFAULTS.send_resolved,
    ...(config.link === undefined ? {} : { link: config.link }),
    routes: (config.routes ?? []).map((route) => ({
      webhooks: [...route.webhooks],
      severity: [...(route.severity ?? NOTIFY_DEFAULTS.route.severity)],
      match: { ...route.match },
      timezone: route.timezone ?? zone,
      ...(route.hours === undefined ? {} : { hours: route.hours.map(parseSpans) }),
      ...(route.calendar === undefined || !options.calendars?.has(route.calendar)
        ? {}
        : { calendar: options.calendars.get(route.calendar)! }),
      continue: route.continue ?? NOTIFY_DEFAULTS.route.continue,
    })),
    silences: (config.silences ?? []).map((silence, index) => ({
      id: silence.id ?? `config-${index + 1}`,
      match: { ...silence.match },
      until: silence.until instanceof Date ? silence.until.toISOString() : silence.until,
      ...(silence.comment === undefined ? {} : { comment: silence.comment }),
    })),
  };
}

/**
 * Validates and resolves a `[notify]` table on its own (tests, tools).
 *
 * @throws {TypeError} listing every problem, one a line: `notify.routes.0.hours.1: expected ...`.
 */
export function parseNotifyPolicy(
  input: unknown,
  options: { defaultTimezone?: string; calendars?: ReadonlyMap<string, Calendar> } = {},
): ResolvedNotifyPolicy {
  const result = notifyPolicySchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) =>
      `${["notify", ...issue.path.map(String)].join(".")}: ${issue.message}`
    );
    throw new TypeError(`Invalid notify policy:\n${lines.join("\n")}`);
  }
  return resolveNotifyPolicy(result.data, options);
}

/**
 * Calendar names routes use that are not configured, as `{ path, message }` issues relative to
 * `[notify]` (`routes.0.calendar`), for the config loader.
 */
export function unknownCalendars(
  config: NotifyPolicyConfig,
  known: ReadonlyMap<string, unknown>,
): { path: string; message: string }[] {
  return (config.routes ?? []).flatMap((route, index) =>
    route.calendar === undefined || known.has(route.calendar) ? [] : [{
      path: `routes.${index}.calendar`,
      message: `expected the name of a [calendars.<name>] table${
        known.size === 0 ? " (there are none)" : ` (${[...known.keys()].join(", ")})`
      }, got ${JSON.stringify(route.calendar)}`,
    }]
  );
}

/**
 * Webhook names routes use that are not configured, as `{ path, message }`
 * issues relative to `[notify]` (`routes.0.webhooks.1`), for the config loader.
 */
export function unknownWebhooks(
  config: NotifyPolicyConfig,
  known: readonly string[],
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  (config.routes ?? []).forEach((route, index) => {
    route.webhooks.forEach((name, position) => {
      if (!known.includes(name)) {
        issues.push({
          path: `routes.${index}.webhooks.${position}`,
          message: `unknown webhook ${JSON.stringify(name)}; expected one of ${
            known.length === 0
              ? "(none configured)"
              : known.map((k) => JSON.stringify(k)).join(", ")
          }`,
        });
      }
    });
  });
  return issues;
}

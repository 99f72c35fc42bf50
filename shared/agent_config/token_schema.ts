/**
 * `[tokens.<name>]` as written (zod, unknown keys rejected) and its
 * resolution into a {@linkcode ResolvedToken}. Which keys a token takes
 * depends on its `format`; every misfit is reported with its key path.
 *
 * ```toml
 * [tokens.midway]
 * format = "cookie"              # jwt | cookie | json | mtime | exec
 * file = "~/.midway/cookie"
 * cookie = "session"
 * warn_before = ["4h", "1h", "15m"]
 * used_by = ["token_monitor"]
 * [tokens.midway.validate]
 * url = "https://sso.example/whoami"
 * cookie = "session"
 * [tokens.midway.refresh]
 * command = ["mwinit", "--non-interactive"]
 * ```
 *
 * @module
 */
import { z } from "zod";
import { httpUrl as url, msOf, positiveDuration } from "../config/zod_units.ts";
import { unknownKeyMessage } from "../config/wording.ts";
import { commandSchema } from "./command_schema.ts";
import { splitWords } from "./words.ts";
import { TOKEN_FORMATS } from "./token_types.ts";
import type { ResolvedToken, ResolvedTokenValidate } from "./token_types.ts";

/** Every default of a token table, in the units of the TOML file. */
export const TOKEN_DEFAULTS = {
  warn_before: ["4h", "1h", "15m"],
  check_interval: "1m",
  validate: {
    interval: "5m",
    timeout: "10s",
    method: "GET",
    status: 200,
    /** When neither `header` nor `cookie` is set. */
    header: "Authorization",
    /** The prefix with the default header; a header of your own has none unless set. */
    prefix: "Bearer ",
  },
  refresh: { timeout: "2m", before: "30m", min_delay: "30s", max_delay: "30m" },
} as const;

const command = commandSchema('["mwinit", "-o"]');

/** Run a refinement even when the table has other issues, so all are reported at once. */
const ALWAYS = { when: () => true };

/**
 * A table that refuses unknown keys with a hint of the keys it knows (a typo
 * must not be silently ignored): the config loader's hints cover only its own tables.
 */
function tokenTable<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.looseObject(shape).superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      issue(ctx, [key], value[key], unknownKeyMessage(key, known));
    }
  }, ALWAYS);
}

function issue(ctx: z.RefinementCtx, path: string[], input: unknown, message: string): void {
  ctx.addIssue({ code: "custom", input, path, message });
}

/** `[tokens.<name>.validate]`: an HTTP request (`url`) or a command. */
export const tokenValidateSchema = tokenTable({
  url: url.optional(),
  method: z.enum(["GET", "HEAD", "POST"]).optional(),
  header: z.string().min(1).optional(),
  prefix: z.string().optional(),
  cookie: z.string().min(1).optional(),
  status: z.int().min(100).max(599).optional(),
  command: command.optional(),
  cwd: z.string().min(1).optional(),
  interval: positiveDuration.optional(),
  timeout: positiveDuration.optional(),
}).superRefine((v, ctx) => {
  if ((v.url === undefined) === (v.command === undefined)) {
    issue(
      ctx,
      [],
      v,
      "expected either url (an HTTP check) or command (an exec check), got " +
        (v.url === undefined ? "neither" : "both"),
    );
  }
  if (v.header !== undefined && v.cookie !== undefined) {
    issue(ctx, ["cookie"], v.cookie, "expected header or cookie (where the token goes), got both");
  }
  if (v.command !== undefined) {
    for (const key of ["method", "header", "prefix", "cookie", "status"] as const) {
      if (v[key] !== undefined) {
        issue(ctx, [key], v[key], `expected ${key} only with url, got it with command`);
      }
    }
  }
}, ALWAYS);

/** `[tokens.<name>.refresh]`. */
export const tokenRefreshSchema = tokenTable({
  command,
  cwd: z.string().min(1).optional(),
  timeout: positiveDuration.optional(),
  before: positiveDuration.optional(),
  min_delay: positiveDuration.optional(),
  max_delay: positiveDuration.optional(),
});

/** Keys that belong to one format only. */
const FORMAT_KEYS = {
  file: ["jwt", "cookie", "json", "mtime"],
  cookie: ["cookie"],
  expires_field: ["json"],
  issued_field: ["json"],
  value_field: ["json"],
  lifetime: ["mtime", "json"],
  command: ["exec"],
} as const;

/** `[tokens.<name>]` as written. */
export const tokenSchema = tokenTable({
  format: z.enum(TOKEN_FORMATS),
  file: z.string().min(1).optional(),
  cookie: z.string().min(1).optional(),
  expires_field: z.string().min(1).optional(),
  issued_field: z.string().min(1).optional(),
  value_field: z.string().min(1).optional(),
  lifetime: positiveDuration.optional(),
  command: command.optional(),
  cwd: z.string().min(1).optional(),
  warn_before: z.array(positiveDuration).optional(),
  used_by: z.array(z.string().min(1)).optional(),
  check_interval: positiveDuration.optional(),
  validate: tokenValidateSchema.optional(),
  refresh: tokenRefreshSchema.optional(),
}).superRefine((t, ctx) => {
  for (
    const [key, formats] of Object.entries(FORMAT_KEYS) as [
      keyof typeof FORMAT_KEYS,
      readonly string[],
    ][]
  ) {
    if (t[key] !== undefined && !formats.includes(t.format)) {
      issue(
        ctx,
        [key],
        t[key],
        `expected ${key} only with format ${
          formats.map((f) => JSON.stringify(f)).join(" or ")
        }, got it with format "${t.format}"`,
      );
    }
  }
  const needs = (key: keyof typeof FORMAT_KEYS, formats: readonly string[]) => {
    if (formats.includes(t.format) && t[key] === undefined) {
      issue(ctx, [key], undefined, `expected ${key} with format "${t.format}", got none`);
    }
  };
  needs("file", FORMAT_KEYS.file);
  needs("cookie", ["cookie"]);
  needs("command", ["exec"]);
  if (t.format === "json" && t.lifetime !== undefined && t.issued_field === undefined) {
    issue(
      ctx,
      ["lifetime"],
      t.lifetime,
      'expected lifetime with format "json" only together ' +
        "with issued_field, got it without one",
    );
  }
  if (t.format === "exec" && t.validate?.url !== undefined) {
    issue(
      ctx,
      ["validate", "url"],
      t.validate.url,
      "expected an exec validation (command) with " +
        'format "exec" (it reads no value to send), got url',
    );
  }
}, ALWAYS);

/** A token table as written. */
export type TokenConfig = z.infer<typeof tokenSchema>;

/** Resolves one token table; `resolvePath` makes paths absolute against the config's folder. */
export function resolveToken(
  name: string,
  t: TokenConfig,
  context: { base: string; resolvePath: (base: string, path: string) => string },
): ResolvedToken {
  const { base, resolvePath } = context;
  const cwd = t.cwd === undefined ? base : resolvePath(base, t.cwd);
  const words = (c: string | string[]) => typeof c === "string" ? splitWords(c) : [...c];
  const leads = (t.warn_before ?? TOKEN_DEFAULTS.warn_before).map(msOf);
  const resolved: ResolvedToken = {
    name,
    format: t.format,
    cwd,
    warnBeforeMs: [...new Set(leads)].sort((a, b) => b - a),
    usedBy: [...(t.used_by ?? [])],
    checkIntervalMs: msOf(t.check_interval ?? TOKEN_DEFAULTS.check_interval),
  };
  if (t.file !== undefined) resolved.file = resolvePath(base, expandHome(t.file));
  if (t.cookie !== undefined) resolved.cookie = t.cookie;
  if (t.expires_field !== undefined) resolved.expiresField = t.expires_field;
  if (t.issued_field !== undefined) resolved.issuedField = t.issued_field;
  if (t.value_field !== undefined) resolved.valueField = t.value_field;
  if (t.lifetime !== undefined) resolved.lifetimeMs = msOf(t.lifetime);
  if (t.command !== undefined) resolved.command = words(t.command);
  if (t.validate !== undefined) resolved.validate = resolveValidate(t.validate, cwd, context);
  if (t.refresh !== undefined) {
    const r = { ...TOKEN_DEFAULTS.refresh, ...t.refresh };
    resolved.refresh = {
      command: words(r.command),
      cwd: r.cwd === undefined ? cwd : resolvePath(base, r.cwd),
      timeoutMs: msOf(r.timeout),
      beforeMs: msOf(r.before),
      minDelayMs: msOf(r.min_delay),
      maxDelayMs: Math.max(msOf(r.min_delay), msOf(r.max_delay)),
    };
  }
  return resolved;
}

function resolveValidate(
  v: z.infer<typeof tokenValidateSchema>,
  cwd: string,
  context: { base: string; resolvePath: (base: string, path: string) => string },
): ResolvedTokenValidate {
  const d = TOKEN_DEFAULTS.validate;
  const intervalMs = msOf(v.interval ?? d.interval);
  const timeoutMs = msOf(v.timeout ?? d.timeout);
  if (v.command !== undefined) {
    return {
      kind: "exec",
      command: typeof v.command === "string" ? splitWords(v.command) : [...v.command],
      cwd: v.cwd === undefined ? cwd : context.resolvePath(context.base, v.cwd),
      intervalMs,
      timeoutMs,
    };
  }
  const ownHeader = v.header !== undefined || v.cookie !== undefined;
  return {
    kind: "http",
    url: v.url!,
    method: v.method ?? d.method,
    ...(v.cookie !== undefined ? { cookie: v.cookie } : { header: v.header ?? d.header }),
    prefix: v.prefix ?? (ownHeader ? "" : d.prefix),
    status: v.status ?? d.status,
    intervalMs,
    timeoutMs,
  };
}

/** `~/x` as the home folder's `x` (the cookie files of SSO tools live there). */
function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  return home === undefined ? path : home + path.slice(1);
}

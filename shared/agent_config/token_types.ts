/**
 * A `[tokens.<name>]` table after `resolveConfig()`: the formats a token's
 * expiry is read in, and how it is validated and refreshed. None of it ever
 * holds the token's value. What a running agent shows of a token (its
 * state, its status) is not config and lives with the agent.
 *
 * @module
 */

/** How a token's expiry is read. */
export const TOKEN_FORMATS = ["jwt", "cookie", "json", "mtime", "exec"] as const;

/** One of {@linkcode TOKEN_FORMATS}. */
export type TokenFormat = typeof TOKEN_FORMATS[number];

/** A token check by HTTP: the token goes in a header or a cookie. */
export interface ResolvedHttpValidate {
  kind: "http";
  url: string;
  method: "GET" | "HEAD" | "POST";
  /** The header that carries the token (default `Authorization` unless `cookie` is set). */
  header?: string;
  /** Put before the value in the header, e.g. `"Bearer "`. */
  prefix: string;
  /** The cookie that carries the token, instead of a header. */
  cookie?: string;
  /** The answer's status when the token is good. */
  status: number;
  intervalMs: number;
  timeoutMs: number;
}

/** A token check by command: passes when it exits 0; the token is in `SCRIPTMON_TOKEN`. */
export interface ResolvedExecValidate {
  kind: "exec";
  command: string[];
  cwd: string;
  intervalMs: number;
  timeoutMs: number;
}

/** `[tokens.<name>.validate]`. */
export type ResolvedTokenValidate = ResolvedHttpValidate | ResolvedExecValidate;

/** `[tokens.<name>.refresh]`: a command that renews the token. */
export interface ResolvedTokenRefresh {
  command: string[];
  cwd: string;
  timeoutMs: number;
  /** Run this long before the (stated or predicted) expiry. */
  beforeMs: number;
  /** The first wait after a failed refresh; doubles up to `maxDelayMs`. */
  minDelayMs: number;
  maxDelayMs: number;
}

/** One `[tokens.<name>]` table, resolved. */
export interface ResolvedToken {
  name: string;
  format: TokenFormat;
  /** Absolute; every format but `exec` reads it (and it is watched). */
  file?: string;
  /** `cookie`: the cookie's name. */
  cookie?: string;
  /** `json`: dotted path to the expiry (epoch seconds, epoch ms or an ISO time). */
  expiresField?: string;
  /** `json`: dotted path to the issue time; with `lifetimeMs`, the expiry. */
  issuedField?: string;
  /** `json`: dotted path to the token's value (for `validate`). */
  valueField?: string;
  /** `mtime` (and `json` with `issuedField`): how long a token lives; learned when absent. */
  lifetimeMs?: number;
  /** `exec`: prints the expiry (epoch seconds or an ISO time) on its first line. */
  command?: string[];
  /** Absolute; where commands run (the config file's folder by default). */
  cwd: string;
  /** Lead times, longest first: one warning each per token lifetime. */
  warnBeforeMs: number[];
  /** Scripts that wait (`waiting-for-token`) while this token is not usable. */
  usedBy: string[];
  /** How often the file is re-read besides the watch, and the exec format run. */
  checkIntervalMs: number;
  validate?: ResolvedTokenValidate;
  refresh?: ResolvedTokenRefresh;
}

/**
 * The vocabulary of tokens: a `[tokens.<name>]` table after
 * `resolveConfig()`, and what `status`, the page, `/metrics` and the
 * collector are shown of a token. None of it ever holds the token's value.
 *
 * @module
 */

/** How a token's expiry is read. */
export const TOKEN_FORMATS = ["jwt", "cookie", "json", "mtime", "exec"] as const;

/** One of {@linkcode TOKEN_FORMATS}. */
export type TokenFormat = typeof TOKEN_FORMATS[number];

/** Every state a token can be in, best first. */
export const TOKEN_STATES = ["valid", "expiring", "unknown", "invalid", "expired"] as const;

/**
 * `valid`: readable, not inside any `warn_before`, last validation passed;
 * `expiring`: inside a `warn_before` lead time; `unknown`: not read yet;
 * `invalid`: unreadable, or the validation failed; `expired`: past its
 * stated expiry.
 */
export type TokenState = typeof TOKEN_STATES[number];

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

/** What is shown of one token: never its value. */
export interface TokenStatus {
  name: string;
  format: TokenFormat;
  state: TokenState;
  /** Why, in words: `expires in 3h 58m`, `validation failed: HTTP 401 (expected 200)`. */
  reason: string;
  /** ISO time of the stated or predicted expiry; null when unknown. */
  expiresAt: string | null;
  /** Seconds until `expiresAt` (negative once past); null when unknown. */
  secondsLeft: number | null;
  /** `expiresAt` is a prediction from learned lifetimes, not stated by the token. */
  predicted: boolean;
  /** 0..1: how sure the prediction is (1 for a stated expiry, 0 when unknown). */
  confidence: number;
  /** The smallest `warn_before` lead time (ms) the token is inside, or null. */
  warning: number | null;
  usedBy: string[];
  /** ISO time of the last validation, and whether it passed. */
  validatedAt: string | null;
  validationOk: boolean | null;
  refresh: RefreshStatus | null;
  /** ISO time the token's value last changed (read, refreshed or renewed by hand). */
  renewedAt: string | null;
}

/** The refresh command's record. */
export interface RefreshStatus {
  /** ISO times. */
  lastRunAt: string | null;
  lastOk: boolean | null;
  lastReason: string | null;
  /** Failed refreshes in a row. */
  failures: number;
  /** ISO time of the next try after a failure; null when none is due. */
  nextTryAt: string | null;
  running: boolean;
}

/** Whether a script that uses the token may start. */
export function tokenUsable(state: TokenState): boolean {
  return state === "valid" || state === "expiring";
}

/**
 * The vocabulary of tokens: a `[tokens.<name>]` table after
 * `resolveConfig()` (re-exported from `shared/agent_config/token_types.ts`,
 * where the config pipeline lives), and what `status`, the page, `/metrics`
 * and the collector are shown of a token. None of it ever holds the token's
 * value.
 *
 * @module
 */

import type { TokenFormat } from "../../shared/agent_config/token_types.ts";

export { TOKEN_FORMATS } from "../../shared/agent_config/token_types.ts";
export type {
  ResolvedExecValidate,
  ResolvedHttpValidate,
  ResolvedToken,
  ResolvedTokenRefresh,
  ResolvedTokenValidate,
  TokenFormat,
} from "../../shared/agent_config/token_types.ts";

/** Every state a token can be in, best first. */
export const TOKEN_STATES = ["valid", "expiring", "unknown", "invalid", "expired"] as const;

/**
 * `valid`: readable, not inside any `warn_before`, last validation passed;
 * `expiring`: inside a `warn_before` lead time; `unknown`: not read yet;
 * `invalid`: unreadable, or the validation failed; `expired`: past its
 * stated expiry.
 */
export type TokenState = typeof TOKEN_STATES[number];

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

/**
 * A token's state from what is known of it, as a pure function so the
 * daemon and `once` agree: the reading, the last validation, the learned
 * lifetime and the time.
 *
 * @module
 */
import { formatDuration } from "../../shared/config/units.ts";
import type { LifetimePrediction } from "./lifetime.ts";
import type { TokenReading } from "./read.ts";
import type { ResolvedToken, TokenState } from "./types.ts";

/** What is known of a token at one moment. */
export interface TokenFacts {
  reading: TokenReading | null;
  readError: string | null;
  /** The last validation of the current value, if any. */
  validation: { ok: boolean; reason: string } | null;
  /** When the current value appeared, if seen (the base of a predicted expiry). */
  renewedAt: number | null;
  prediction: LifetimePrediction | null;
}

/** A token's evaluated state. */
export interface TokenVerdict {
  state: TokenState;
  reason: string;
  expiresAt: number | null;
  predicted: boolean;
  confidence: number;
  /** The smallest lead time the token is inside, or null. */
  warning: number | null;
}

/** The expiry of a token: stated, else predicted from its learned lifetime, else unknown. */
export function expiryOf(
  facts: TokenFacts,
): { expiresAt: number | null; predicted: boolean; confidence: number } {
  const stated = facts.reading?.expiresAt ?? null;
  if (stated !== null) return { expiresAt: stated, predicted: false, confidence: 1 };
  const start = facts.reading?.issuedAt ?? facts.renewedAt;
  if (facts.reading !== null && facts.prediction !== null && start !== null) {
    // Whole seconds: the instant is part of the warnings' dedupe keys.
    const at = Math.round((start + facts.prediction.lifetimeMs) / 1000) * 1000;
    return { expiresAt: at, predicted: true, confidence: facts.prediction.confidence };
  }
  return { expiresAt: null, predicted: false, confidence: 0 };
}

/** Evaluates `facts` at `now`; see `TokenState` for what each state means. */
export function evaluateToken(token: ResolvedToken, facts: TokenFacts, now: number): TokenVerdict {
  const { expiresAt, predicted, confidence } = expiryOf(facts);
  const base = { expiresAt, predicted, confidence, warning: null };
  if (facts.reading === null) {
    return facts.readError === null
      ? { ...base, state: "unknown", reason: "not read yet" }
      : { ...base, state: "invalid", reason: facts.readError };
  }
  if (expiresAt !== null && !predicted && now >= expiresAt) {
    return { ...base, state: "expired", reason: `expired ${formatDuration(now - expiresAt)} ago` };
  }
  if (facts.validation !== null && !facts.validation.ok) {
    return { ...base, state: "invalid", reason: `validation failed: ${facts.validation.reason}` };
  }
  if (expiresAt === null) {
    return {
      ...base,
      state: "valid",
      reason: facts.validation?.ok
        ? `validated (${facts.validation.reason}); expiry not known yet`
        : "expiry not known yet",
    };
  }
  const left = expiresAt - now;
  const when = left > 0 ? `in ${formatDuration(left)}` : `${formatDuration(-left)} ago`;
  const reason = predicted
    ? `predicted to expire ${when} (confidence ${confidence}, learned lifetime ${
      formatDuration(facts.prediction!.lifetimeMs)
    })`
    : `expires ${when}`;
  const inside = token.warnBeforeMs.filter((lead) => left <= lead);
  const warning = inside.length === 0 ? null : Math.min(...inside);
  return { ...base, warning, state: warning === null ? "valid" : "expiring", reason };
}

/** The next instant after `now` at which the verdict may change by time alone, or null. */
export function nextBoundary(token: ResolvedToken, expiresAt: number | null, now: number) {
  if (expiresAt === null) return null;
  const points = [expiresAt, ...token.warnBeforeMs.map((lead) => expiresAt - lead)];
  if (token.refresh) points.push(expiresAt - token.refresh.beforeMs);
  const future = points.filter((t) => t > now);
  return future.length === 0 ? null : Math.min(...future);
}

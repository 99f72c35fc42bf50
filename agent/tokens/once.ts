/**
 * Tokens in `scriptmon-agent once`: each token read and validated once,
 * evaluated as the daemon would (with the lifetimes the daemon learned, from
 * the KV file), and turned into report lines: `ok` while valid, `warning`
 * inside a `warn_before` lead time, `critical` when expired or invalid. No
 * refresh runs here: that is the daemon's job.
 *
 * @module
 */
import { formatDuration } from "../../shared/config/units.ts";
import { LifetimeModel } from "./lifetime.ts";
import { readToken, type TokenReading } from "./read.ts";
import { evaluateToken } from "./state.ts";
import { type ResolvedToken, type TokenState, type TokenStatus, tokenUsable } from "./types.ts";
import { validateToken } from "./validate.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** A result level of `once`, as in `once.ts`. */
export type OnceSeverity = "ok" | "warning" | "critical" | "unknown";

/** The `once` level of a token state. */
export function tokenSeverity(state: TokenState): OnceSeverity {
  return state === "valid"
    ? "ok"
    : state === "expiring"
    ? "warning"
    : state === "unknown"
    ? "unknown"
    : "critical";
}

/** Checks every token once; `kv` (the agent's) supplies learned lifetimes. */
export async function checkTokensOnce(
  tokens: Record<string, ResolvedToken>,
  options: { kv?: KvHandle; now?: () => number } = {},
): Promise<TokenStatus[]> {
  const now = options.now ?? Date.now;
  return await Promise.all(
    Object.values(tokens).map(async (token) => {
      let reading: TokenReading | null = null;
      let readError: string | null = null;
      try {
        reading = await readToken(token);
      } catch (error) {
        readError = error instanceof Error ? error.message : String(error);
      }
      const validation = token.validate && reading !== null
        ? await validateToken(token.validate, reading.value)
        : null;
      const saved = await options.kv?.get<number[]>(["tokens", "lifetimes", token.name]);
      const prediction = new LifetimeModel(saved?.value ?? []).predict();
      const at = now();
      const v = evaluateToken(token, {
        reading,
        readError,
        validation,
        renewedAt: reading?.issuedAt ?? null,
        prediction,
      }, at);
      return {
        name: token.name,
        format: token.format,
        state: v.state,
        reason: v.reason,
        expiresAt: v.expiresAt === null ? null : new Date(v.expiresAt).toISOString(),
        secondsLeft: v.expiresAt === null ? null : Math.round((v.expiresAt - at) / 1000),
        predicted: v.predicted,
        confidence: v.confidence,
        warning: v.warning,
        usedBy: token.usedBy,
        validatedAt: validation === null ? null : new Date(at).toISOString(),
        validationOk: validation?.ok ?? null,
        refresh: null,
        renewedAt: null,
      };
    }),
  );
}

/** Why `script` may not start, given the tokens' status; null when it may. */
export function blockedBy(script: string, tokens: readonly TokenStatus[]): string | null {
  const bad = tokens.filter((t) => t.usedBy.includes(script) && !tokenUsable(t.state));
  return bad.length === 0
    ? null
    : bad.map((t) => `token "${t.name}" is ${t.state} (${t.reason})`).join("; ");
}

/** The time left as a table cell: `3h 58m`, `expired 5m ago`, `unknown`. */
export function timeLeft(t: Pick<TokenStatus, "secondsLeft" | "predicted">): string {
  if (t.secondsLeft === null) return "unknown";
  const text = t.secondsLeft < 0
    ? `expired ${formatDuration(-t.secondsLeft * 1000)} ago`
    : formatDuration(t.secondsLeft * 1000);
  return t.predicted ? `~${text} (predicted)` : text;
}

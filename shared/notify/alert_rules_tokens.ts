/**
 * The one set of token alert rules, read from the token summary an agent
 * reports (`TokenSummary` of the wire protocol), beside the script rules of
 * `alert_rules.ts`. The collector judges the summaries it receives; the
 * agent judges the summaries it sends, plus what only it knows of a token
 * ({@linkcode TokenFacts}: the reason in words, the lead time it is inside,
 * its refresh record), which words the texts and adds two rules.
 *
 * - `token-invalid` (critical) while a token is expired or invalid.
 * - `token-expiring` (warning) while a token is inside a `warn_before`: a
 *   level condition where only the summary is known (the collector). The
 *   agent, which knows the lead times, warns once per lead time instead
 *   ({@linkcode tokenWarnings}).
 * - `token-refresh-failed` while a token's refresh command keeps failing
 *   (agent only: the summary has no refresh record).
 *
 * @module
 */

import { formatDuration } from "../config/units.ts";
import type { TokenSummary } from "../protocol.ts";
import type { Condition, RuleContext } from "./alert_rules.ts";
import type { Alert } from "./types.ts";

/** What only the agent knows of a token, never sent: it words the alerts and adds rules. */
export interface TokenFacts {
  /** Why, in words: `expired 5m ago`, `validation failed: HTTP 401 (expected 200)`. */
  reason: string;
  /** The smallest `warn_before` lead time (ms) the token is inside, or null. */
  warning: number | null;
  /** The refresh command's record; null when the token has none. */
  refresh: {
    /** Failed refreshes in a row. */
    failures: number;
    lastReason: string | null;
    /** ISO time of the next try; null when none is due. */
    nextTryAt: string | null;
  } | null;
}

/** A warning to send once: `dedupeKey` (plus the channel) makes it once-only. */
export interface TokenWarning {
  key: string;
  dedupeKey: string;
  alert: Alert;
}

/**
 * The token conditions that hold now. `facts` (the agent's, by token name)
 * word `token-invalid` from the token's reason, raise `token-refresh-failed`,
 * and leave an expiring token to {@linkcode tokenWarnings}; without them (the
 * collector) an expiring token is a `token-expiring` condition.
 */
export function tokenConditions(
  tokens: readonly TokenSummary[],
  ctx: RuleContext,
  facts: ReadonlyMap<string, TokenFacts> = new Map(),
): Condition[] {
  const out: Condition[] = [];
  const where = `on ${ctx.host} (${ctx.site})`;
  for (const t of tokens) {
    const known = facts.get(t.name);
    const add = (fields: Pick<Alert, "rule" | "severity" | "title" | "text">) => {
      out.push({
        key: [fields.rule, ctx.site, ctx.host, "", `token:${t.name}`].join("|"),
        alert: tokenAlert(t, ctx, fields),
      });
    };
    if (t.state === "expired" || t.state === "invalid") {
      add({
        rule: "token-invalid",
        severity: "critical",
        title: `token ${t.name} is ${t.state} ${where}`,
        text: known === undefined
          ? summaryText(t)
          : `${known.reason}.${users(t, "wait for")}${
            known.refresh ? "" : " It has no refresh command: renew it by hand."
          }`,
      });
    } else if (t.state === "expiring" && known === undefined) {
      add({
        rule: "token-expiring",
        severity: "warning",
        title: `token ${t.name} is ${t.state} ${where}`,
        text: summaryText(t),
      });
    }
    if (known?.refresh && known.refresh.failures > 0) {
      const refresh = known.refresh;
      add({
        rule: "token-refresh-failed",
        severity: t.state === "valid" || t.state === "expiring" ? "warning" : "critical",
        title: `token ${t.name}: refresh failing ${where}`,
        text: `${refresh.failures} failed refresh(es) in a row: ${refresh.lastReason}. ` +
          `Next try at ${refresh.nextTryAt ?? "once due"}; the token ${known.reason}.`,
      });
    }
  }
  return out;
}

/**
 * The warnings due now: each expiring token inside a lead time (known from
 * the agent's `facts`) gets the one for its smallest lead, keyed by token,
 * lead time and expiry instant, so a new lifetime warns again.
 */
export function tokenWarnings(
  tokens: readonly TokenSummary[],
  ctx: RuleContext,
  facts: ReadonlyMap<string, TokenFacts>,
): TokenWarning[] {
  const out: TokenWarning[] = [];
  for (const t of tokens) {
    const known = facts.get(t.name);
    if (known?.warning == null || t.expiresAt === null || t.state !== "expiring") continue;
    const lead = formatDuration(known.warning);
    const subject = [ctx.site, ctx.host, t.name, lead, t.expiresAt].join("|");
    out.push({
      key: `token-expiring|${subject}`,
      dedupeKey: `token-expiring|${subject}`,
      alert: tokenAlert(t, ctx, {
        rule: "token-expiring",
        severity: "warning",
        title: `token ${t.name} expires within ${lead} on ${ctx.host} (${ctx.site})`,
        text: `${t.predicted ? "Predicted from its learned lifetime: " : ""}${known.reason}; ` +
          `expiry ${t.expiresAt}.${users(t, "use")}${
            known.refresh ? " Its refresh command will try first." : ""
          }`,
      }),
    });
  }
  return out;
}

/** One token's alert: `fields` plus where, when and the seconds left. */
function tokenAlert(
  t: TokenSummary,
  ctx: RuleContext,
  fields: Pick<Alert, "rule" | "severity" | "title" | "text">,
): Alert {
  return {
    ...fields,
    status: "firing",
    site: ctx.site,
    host: ctx.host,
    check: `token:${t.name}`,
    ...(t.secondsLeft === null ? {} : { value: t.secondsLeft }),
    at: new Date(ctx.now).toISOString(),
    episode: "",
    ...(ctx.link ? { link: ctx.link } : {}),
  };
}

/** The text the summary alone gives: `Expiry <iso>. Used by rates, dock.`. */
function summaryText(t: TokenSummary): string {
  const usedBy = t.usedBy.length === 0 ? "" : ` Used by ${t.usedBy.join(", ")}.`;
  const left = t.expiresAt === null
    ? ""
    : ` ${t.predicted ? "Predicted expiry" : "Expiry"} ${t.expiresAt}.`;
  return `${left}${usedBy}`.trim() || `token ${t.name} is ${t.state}`;
}

/** ` rates, dock wait for it.` or ` rates uses it.`; empty when no script depends on it. */
function users(t: TokenSummary, verb: "wait for" | "use"): string {
  if (t.usedBy.length === 0) return "";
  const [first, ...rest] = verb.split(" ");
  const conjugated = t.usedBy.length === 1 ? `${first}s` : first;
  return ` ${t.usedBy.join(", ")} ${[conjugated, ...rest].join(" ")} it.`;
}

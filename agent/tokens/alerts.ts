/**
 * What the notifications say about tokens. Two kinds:
 *
 * - Conditions (level-triggered, through the alert policy like every other
 *   alert): `token-invalid` while a token is expired or invalid,
 *   `token-refresh-failed` while its refresh command keeps failing.
 * - Warnings: one message per lead time per token lifetime, never repeated.
 *   Each has a dedupe key of token + lead time + the expiry instant, so the
 *   outbox sends it once however often it is offered, across restarts too;
 *   a new expiry (a refresh) is a new lifetime and warns again.
 *
 * @module
 */
import type { Alert } from "../../shared/notify/types.ts";
import { formatDuration } from "../../shared/config/units.ts";
import type { AlertContext, Condition } from "../notify/alert_rules.ts";
import type { TokenStatus } from "./types.ts";

/** A warning to send once: `dedupeKey` (plus the channel) makes it once-only. */
export interface TokenWarning {
  key: string;
  dedupeKey: string;
  alert: Alert;
}

function tokenAlert(
  t: TokenStatus,
  ctx: AlertContext,
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

/** ` rates, dock wait for it.` or ` rates uses it.`; empty when no script depends on it. */
function users(t: TokenStatus, verb: "wait for" | "use"): string {
  if (t.usedBy.length === 0) return "";
  const [first, ...rest] = verb.split(" ");
  const conjugated = t.usedBy.length === 1 ? `${first}s` : first;
  return ` ${t.usedBy.join(", ")} ${[conjugated, ...rest].join(" ")} it.`;
}

/** The token conditions that hold now. */
export function tokenConditions(tokens: readonly TokenStatus[], ctx: AlertContext): Condition[] {
  const out: Condition[] = [];
  const where = `on ${ctx.host} (${ctx.site})`;
  for (const t of tokens) {
    const key = (rule: string) => [rule, ctx.site, ctx.host, "", `token:${t.name}`].join("|");
    if (t.state === "expired" || t.state === "invalid") {
      out.push({
        key: key("token-invalid"),
        alert: tokenAlert(t, ctx, {
          rule: "token-invalid",
          severity: "critical",
          title: `token ${t.name} is ${t.state} ${where}`,
          text: `${t.reason}.${users(t, "wait for")}${
            t.refresh ? "" : " It has no refresh command: renew it by hand."
          }`,
        }),
      });
    }
    if (t.refresh !== null && t.refresh.failures > 0) {
      out.push({
        key: key("token-refresh-failed"),
        alert: tokenAlert(t, ctx, {
          rule: "token-refresh-failed",
          severity: t.state === "valid" || t.state === "expiring" ? "warning" : "critical",
          title: `token ${t.name}: refresh failing ${where}`,
          text: `${t.refresh.failures} failed refresh(es) in a row: ${t.refresh.lastReason}. ` +
            `Next try at ${t.refresh.nextTryAt ?? "once due"}; the token ${t.reason}.`,
        }),
      });
    }
  }
  return out;
}

/** The warnings due now: each token inside a lead time gets the one for its smallest lead. */
export function tokenWarnings(tokens: readonly TokenStatus[], ctx: AlertContext): TokenWarning[] {
  const out: TokenWarning[] = [];
  for (const t of tokens) {
    if (t.warning === null || t.expiresAt === null || t.state !== "expiring") continue;
    const lead = formatDuration(t.warning);
    const subject = [ctx.site, ctx.host, t.name, lead, t.expiresAt].join("|");
    out.push({
      key: `token-expiring|${subject}`,
      dedupeKey: `token-expiring|${subject}`,
      alert: tokenAlert(t, ctx, {
        rule: "token-expiring",
        severity: "warning",
        title: `token ${t.name} expires within ${lead} on ${ctx.host} (${ctx.site})`,
        text: `${t.predicted ? "Predicted from its learned lifetime: " : ""}${t.reason}; ` +
          `expiry ${t.expiresAt}.${users(t, "use")}${
            t.refresh ? " Its refresh command will try first." : ""
          }`,
      }),
    });
  }
  return out;
}

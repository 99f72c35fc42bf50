/**
 * The collector's token alert rules: the fleet's level view of each agent's
 * tokens (`token-invalid`, `token-expiring`), from the token summaries of
 * its heartbeat. (The agent itself warns once per lead time instead.) Its
 * scripts are judged by the rules both programs share,
 * `shared/notify/alert_rules.ts`.
 *
 * @module
 */

import type { TokenSummary } from "../../shared/protocol.ts";
import type { Condition, RuleContext } from "../../shared/notify/alert_rules.ts";

export {
  type Condition,
  type RuleContext,
  scriptConditions,
} from "../../shared/notify/alert_rules.ts";

/**
 * The conditions of an agent's tokens (as the agent names them):
 * `token-invalid` (critical) while one is expired or invalid,
 * `token-expiring` (warning) while one is inside its `warn_before`. The
 * agent sends its own once-per-lead-time warnings; these are the fleet's
 * level view of the same states.
 */
export function tokenConditions(tokens: readonly TokenSummary[], ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const where = `on ${ctx.host} (${ctx.site})`;
  for (const t of tokens) {
    const invalid = t.state === "expired" || t.state === "invalid";
    if (!invalid && t.state !== "expiring") continue;
    const rule = invalid ? "token-invalid" : "token-expiring";
    const users = t.usedBy.length === 0 ? "" : ` Used by ${t.usedBy.join(", ")}.`;
    const left = t.expiresAt === null
      ? ""
      : ` ${t.predicted ? "Predicted expiry" : "Expiry"} ${t.expiresAt}.`;
    out.push({
      key: [rule, ctx.site, ctx.host, "", `token:${t.name}`].join("|"),
      alert: {
        rule,
        severity: invalid ? "critical" : "warning",
        status: "firing",
        title: `token ${t.name} is ${t.state} ${where}`,
        text: `${left}${users}`.trim() || `token ${t.name} is ${t.state}`,
        site: ctx.site,
        host: ctx.host,
        check: `token:${t.name}`,
        ...(t.secondsLeft === null ? {} : { value: t.secondsLeft }),
        at: new Date(ctx.now).toISOString(),
        episode: "",
      },
    });
  }
  return out;
}

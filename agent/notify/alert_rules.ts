/**
 * The agent's own alert rules: its memory and free disk. A script and a
 * token are judged by the one set of rules both programs share
 * (`shared/notify/alert_rules.ts`, `shared/notify/alert_rules_tokens.ts`),
 * over the summary the agent also sends the collector, plus what only the
 * agent knows ({@linkcode scriptFacts}: the stderr tail, the retry cadence;
 * {@linkcode tokenFacts}: a token's reason, lead time and refresh record).
 *
 * @module
 */
import { formatDuration } from "../../shared/config/units.ts";
import type { Condition, RuleContext, ScriptFacts } from "../../shared/notify/alert_rules.ts";
import type { TokenFacts } from "../../shared/notify/alert_rules_tokens.ts";
import type { AgentInfo } from "../local_api/status.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import type { TokenStatus } from "../tokens/types.ts";

export type { Condition } from "../../shared/notify/alert_rules.ts";

/** Where the agent is, for every alert. */
export type AlertContext = RuleContext;

/** What the agent adds to its own judgement of `script`: its stderr tail and retry cadence. */
export function scriptFacts(script: ResolvedScript, stderrTail: string[]): ScriptFacts {
  const every = formatDuration(script.restart.maxDelayMs);
  const stable = formatDuration(script.restart.resetAfterMs);
  return { stderrTail, crashLoopNote: `Retrying every ${every} until a run lasts ${stable}.` };
}

/** What the agent adds to its own judgement of its tokens, by name: reason, lead time, refresh. */
export function tokenFacts(tokens: readonly TokenStatus[]): Map<string, TokenFacts> {
  return new Map(tokens.map((t) => [t.name, {
    reason: t.reason,
    warning: t.warning,
    refresh: t.refresh === null ? null : {
      failures: t.refresh.failures,
      lastReason: t.refresh.lastReason,
      nextTryAt: t.refresh.nextTryAt,
    },
  }]));
}

/** The conditions of the agent itself: its memory and free disk. */
export function agentConditions(agent: AgentInfo, ctx: AlertContext): Condition[] {
  return agent.checks
    .filter((c) => c.status === "warning" || c.status === "failing")
    .map((c) => ({
      key: ["agent", ctx.site, ctx.host, "", c.name].join("|"),
      alert: {
        rule: "agent",
        severity: "warning" as const,
        status: "firing" as const,
        title: `scriptmon agent ${c.name} ${ctx.host} (${ctx.site})`,
        text: c.reason,
        site: ctx.site,
        host: ctx.host,
        check: c.name,
        value: c.value,
        threshold: c.threshold,
        at: new Date(ctx.now).toISOString(),
        episode: "",
        ...(ctx.link ? { link: ctx.link } : {}),
      },
    }));
}

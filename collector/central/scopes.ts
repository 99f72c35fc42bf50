/**
 * What a central config document applies to, and who gets a version: the
 * whole fleet, one environment, one site, or one agent (documents), and a
 * version's rollout (one agent first, then its site, then all).
 *
 * Written `fleet`, `env:staging`, `site:FC1` and `agent:FC1/ws-01` in the API.
 *
 * @module
 */

/** A site or host as agents report them (`agent.site`, `agent.host`). */
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** What a document applies to; also who a rollout reaches. */
export type ConfigScope =
  | { kind: "fleet" }
  | { kind: "env"; env: string }
  | { kind: "site"; site: string }
  | { kind: "agent"; site: string; host: string };

/** An agent as scopes see it: its site, host and its token's environment. */
export interface AgentRef {
  site: string;
  host: string;
  environment?: string;
}

/**
 * The scope `text` names.
 *
 * @throws {RangeError} naming the text and what is expected.
 */
export function parseScope(text: string): ConfigScope {
  if (text === "fleet" || text === "all") return { kind: "fleet" };
  const env = /^env:(.+)$/.exec(text);
  if (env !== null && NAME.test(env[1])) return { kind: "env", env: env[1] };
  const site = /^site:(.+)$/.exec(text);
  if (site !== null && NAME.test(site[1])) return { kind: "site", site: site[1] };
  const agent = /^agent:([^/]+)\/(.+)$/.exec(text);
  if (agent !== null && NAME.test(agent[1]) && NAME.test(agent[2])) {
    return { kind: "agent", site: agent[1], host: agent[2] };
  }
  throw new RangeError(
    `Invalid scope ${
      JSON.stringify(text)
    }: expected "fleet", "env:<environment>", "site:<site>" or "agent:<site>/<host>"`,
  );
}

/** The scope as `parseScope` reads it: `fleet`, `site:FC1`, `agent:FC1/ws-01`. */
export function formatScope(scope: ConfigScope): string {
  switch (scope.kind) {
    case "fleet":
      return "fleet";
    case "env":
      return `env:${scope.env}`;
    case "site":
      return `site:${scope.site}`;
    case "agent":
      return `agent:${scope.site}/${scope.host}`;
  }
}

/** Whether a rollout to `scope` reaches `agent`. */
export function reaches(scope: ConfigScope, agent: AgentRef): boolean {
  switch (scope.kind) {
    case "fleet":
      return true;
    case "env":
      return scope.env === agent.environment;
    case "site":
      return scope.site === agent.site;
    case "agent":
      return scope.site === agent.site && scope.host === agent.host;
  }
}

/** The documents that apply to `agent`, in the order they merge. */
export function scopesOf(agent: AgentRef): ConfigScope[] {
  return [
    { kind: "fleet" },
    ...(agent.environment === undefined ? [] : [{ kind: "env" as const, env: agent.environment }]),
    { kind: "site", site: agent.site },
    { kind: "agent", site: agent.site, host: agent.host },
  ];
}

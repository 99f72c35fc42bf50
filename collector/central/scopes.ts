/**
 * What a central config document applies to, and who gets a version: the
 * whole fleet, one site, or one agent (documents), and a version's rollout
 * (one agent first, then its site, then all).
 *
 * Written `fleet`, `site:FC1` and `agent:FC1/ws-01` in the API and the CLI.
 *
 * @module
 */

/** A site or host as agents report them (`agent.site`, `agent.host`). */
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** What a document applies to; also who a rollout reaches. */
export type ConfigScope =
  | { kind: "fleet" }
  | { kind: "site"; site: string }
  | { kind: "agent"; site: string; host: string };

/**
 * The scope `text` names.
 *
 * @throws {RangeError} naming the text and what is expected.
 */
export function parseScope(text: string): ConfigScope {
  if (text === "fleet" || text === "all") return { kind: "fleet" };
  const site = /^site:(.+)$/.exec(text);
  if (site !== null && NAME.test(site[1])) return { kind: "site", site: site[1] };
  const agent = /^agent:([^/]+)\/(.+)$/.exec(text);
  if (agent !== null && NAME.test(agent[1]) && NAME.test(agent[2])) {
    return { kind: "agent", site: agent[1], host: agent[2] };
  }
  throw new RangeError(
    `Invalid scope ${
      JSON.stringify(text)
    }: expected "fleet", "site:<site>" or "agent:<site>/<host>"`,
  );
}

/** The scope as `parseScope` reads it: `fleet`, `site:FC1`, `agent:FC1/ws-01`. */
export function formatScope(scope: ConfigScope): string {
  switch (scope.kind) {
    case "fleet":
      return "fleet";
    case "site":
      return `site:${scope.site}`;
    case "agent":
      return `agent:${scope.site}/${scope.host}`;
  }
}

/** Whether a rollout to `scope` reaches the agent `site/host`. */
export function reaches(scope: ConfigScope, site: string, host: string): boolean {
  return scope.kind === "fleet" ||
    (scope.site === site && (scope.kind === "site" || scope.host === host));
}

/** The documents that apply to agent `site/host`, in the order they merge. */
export function scopesOf(site: string, host: string): ConfigScope[] {
  return [{ kind: "fleet" }, { kind: "site", site }, { kind: "agent", site, host }];
}

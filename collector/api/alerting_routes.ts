/**
 * The collector's notifications and their rules under `/api/v1`: the
 * message history of its outbox, and the silences and routes added at
 * run time (beside the config file's, which these routes list but cannot
 * change). A caller scoped to some sites sees only their messages and
 * silences, and may add or remove only silences that name one of its sites
 * (`match.site`); the routes are for admins of every site (`access.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { getLogger } from "@logtape/logtape";
import type { Outbox } from "../../shared/notify/outbox.ts";
import { parseRouteRequest, type RuntimeRules } from "../../shared/notify/runtime_rules.ts";
import { parseSilenceRequest } from "../../shared/notify/silence_request.ts";
import { isActive, type Silence } from "../../shared/notify/silences.ts";
import { MESSAGE_STATES, type MessageRecord } from "../../shared/notify/types.ts";
import { canSee, describe, inScope, principalOf, siteScope } from "../auth/access.ts";
import type { CollectorEnv } from "../auth/authenticate.ts";
import type { Clock } from "../clock.ts";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import { HttpError } from "../http/http_error.ts";
import { queryEnum, queryInt, queryText, queryTime } from "../http/request.ts";

const log = getLogger(["scriptmon", "collector", "api"]);

/** What the alerting routes read and change (the collector's `CollectorAlerts`). */
export interface AlertControl {
  readonly outbox: Outbox;
  readonly rules: RuntimeRules;
}

/** The sites a message is about: its alert's and those grouped into it. */
export function messageSites(message: MessageRecord): string[] {
  if (message.payload.type !== "alert") return [];
  const { alert } = message.payload;
  return [...new Set([alert.site, ...(alert.group ?? []).map((a) => a.site)])]
    .filter((s): s is string => typeof s === "string");
}

/** Whether a silence concerns sites `principal` may see (one of no site concerns every site). */
function silenceVisible(principal: { sites: string[] | null }, silence: Silence): boolean {
  return silence.match.site === undefined || canSee(principal, silence.match.site);
}

/**
 * `message` as a caller who sees only some sites may see it: a grouped
 * message keeps only the members of those sites (the first of them leads
 * when the main alert is elsewhere); null when none is theirs. Relayed and
 * test messages name no site: only callers of every site see them.
 */
export function scopedMessage(
  message: MessageRecord,
  visible: (site: string) => boolean,
): MessageRecord | null {
  if (message.payload.type !== "alert") return null;
  const { alert } = message.payload;
  const members = [alert, ...(alert.group ?? [])]
    .filter((a) => typeof a.site === "string" && visible(a.site));
  if (members.length === 0) return null;
  const [lead, ...rest] = members;
  const { group: _group, ...leadAlone } = lead;
  const scoped = rest.length === 0 ? leadAlone : { ...leadAlone, group: rest };
  // The dedupe key names the main alert's subject: not shown when that is another site's.
  const dedupeKey = lead === alert ? message.dedupeKey : "";
  return { ...message, dedupeKey, payload: { type: "alert", alert: scoped } };
}

/** Messages per state. */
function countStates(messages: readonly MessageRecord[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(MESSAGE_STATES.map((s) => [s, 0]));
  for (const m of messages) counts[m.state]++;
  return counts;
}

/** How many messages the history reads before the site filter. */
const SCAN_LIMIT = 10_000;

/** The alerting routes, to mount at `/api/v1`. */
export function alertingRoutes(
  deps: { control: AlertControl; clock: Clock; config: () => ResolvedCollectorConfig },
): Hono<CollectorEnv> {
  const { control, clock } = deps;
  const app = new Hono<CollectorEnv>();
  const who = (c: { get(key: "actor"): string }) => c.get("actor");

  app.get("/notifications", async (c) => {
    const state = queryEnum(c, "state", ["any", ...MESSAGE_STATES] as const, "any");
    const channel = queryText(c, "channel");
    const scope = siteScope(c);
    const scoped = scope.site !== undefined || scope.sites !== undefined;
    const since = queryTime(c, "since");
    const until = queryTime(c, "until");
    const limit = queryInt(c, "limit", { min: 1, max: 1000, fallback: 100 });
    const listed = await control.outbox.list({
      ...(state === "any" ? {} : { state }),
      ...(channel === undefined ? {} : { channel }),
      ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
      limit: !scoped && until === undefined ? limit : SCAN_LIMIT,
    });
    const visible = listed
      .filter((m) => until === undefined || Date.parse(m.createdAt) < until)
      .map((m) => scoped ? scopedMessage(m, (s) => inScope(scope, s)) : m)
      .filter((m): m is MessageRecord => m !== null);
    const notifications = visible.slice(0, limit);
    // The outbox's counts are the whole fleet's: a scoped caller gets those of what it sees.
    const counts = scoped ? countStates(visible) : await control.outbox.counts();
    return c.json({ notifications, counts });
  });

  app.get("/silences", (c) => {
    const now = clock.now();
    const principal = principalOf(c);
    return c.json({
      silences: [
        ...deps.config().notify.silences.filter((s) => isActive(s, now)).map((s) => ({
          ...s,
          source: "config",
        })),
        ...control.rules.silences().map((s) => ({ ...s, source: "api" })),
      ].filter((s) => silenceVisible(principal, s)),
    });
  });

  app.post("/silences", async (c) => {
    const body = await c.req.json().catch(() => {
      throw new HttpError(400, "body: expected a JSON object with match and for (or until)");
    });
    let silence;
    try {
      silence = parseSilenceRequest({ ...body, createdBy: who(c) }, clock.now());
    } catch (error) {
      throw new HttpError(400, (error as Error).message, { cause: error });
    }
    const principal = principalOf(c);
    if (principal.sites !== null && !principal.sites.includes(silence.match.site ?? "")) {
      throw new HttpError(
        403,
        `${describe(principal)} may silence only its sites (${
          principal.sites.join(", ")
        }): match.site must name one, got ${JSON.stringify(silence.match.site ?? null)}`,
      );
    }
    await control.rules.addSilence(silence);
    log.info("Silence {id} of {match} until {until} added by {by}", {
      id: silence.id,
      match: JSON.stringify(silence.match),
      until: silence.until,
      by: silence.createdBy,
    });
    return c.json({ silence }, 201);
  });

  app.delete("/silences/:id", async (c) => {
    const id = c.req.param("id");
    if (deps.config().notify.silences.some((s) => s.id === id)) {
      throw new HttpError(409, `Silence "${id}" is from the config file: remove it there`);
    }
    const principal = principalOf(c);
    const existing = control.rules.silences().find((s) => s.id === id);
    if (existing === undefined) throw new HttpError(404, `No silence "${id}"`);
    if (principal.sites !== null && !principal.sites.includes(existing.match.site ?? "")) {
      throw new HttpError(
        403,
        `${describe(principal)} may remove only silences of its sites (${
          principal.sites.join(", ")
        }); silence "${id}" matches ${JSON.stringify(existing.match)}`,
      );
    }
    if (!await control.rules.removeSilence(id)) throw new HttpError(404, `No silence "${id}"`);
    log.info("Silence {id} removed by {by}", { id, by: who(c) });
    return c.json({ ok: true });
  });

  app.get("/routes", (c) => {
    return c.json({ config: deps.config().notify.routes, runtime: control.rules.routes() });
  });

  app.post("/routes", async (c) => {
    const body = await c.req.json().catch(() => {
      throw new HttpError(400, "body: expected a JSON object with a route");
    });
    let route;
    try {
      route = parseRouteRequest(body, {
        // The webhooks running now: one added to the file waits for a restart.
        webhooks: control.outbox.channelNames(),
        createdBy: who(c),
        now: clock.now(),
      });
    } catch (error) {
      throw new HttpError(400, (error as Error).message, { cause: error });
    }
    await control.rules.addRoute(route);
    log.info("Route {id} to {webhooks} added by {by}", {
      id: route.id,
      webhooks: route.route.webhooks.join(", "),
      by: route.createdBy,
    });
    return c.json({ route }, 201);
  });

  app.delete("/routes/:id", async (c) => {
    const id = c.req.param("id");
    if (!await control.rules.removeRoute(id)) throw new HttpError(404, `No runtime route "${id}"`);
    log.info("Route {id} removed by {by}", { id, by: who(c) });
    return c.json({ ok: true });
  });

  return app;
}

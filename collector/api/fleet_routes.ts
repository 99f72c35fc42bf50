/**
 * The user REST API under `/api/v1` (API token): sites, agents, scripts,
 * events (JSON or CSV), remote commands, and alerts (list, acknowledge).
 * Every listing leaves out the sites its caller may not see (`access.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { getLogger } from "@logtape/logtape";
import { commandSchema } from "../../shared/protocol.ts";
import { checkSite, inScope, siteScope } from "../auth/access.ts";
import type { CollectorEnv } from "../auth/authenticate.ts";
import type { Clock } from "../clock.ts";
import { toCsv } from "../http/csv.ts";
import { toXlsx, XLSX_CONTENT_TYPE } from "../http/xlsx.ts";
import { type ScriptRow, scriptRows, siteSummaries } from "../fleet/views.ts";
import { HttpError } from "../http/http_error.ts";
import { queryCursor, queryEnum, queryInt, queryText, queryTime } from "../http/request.ts";
import type { Store } from "../store/store.ts";
import type { AgentRecord, StoredEvent } from "../store/types.ts";
import type { UptimeCache } from "../fleet/uptime_cache.ts";
import { toWireCommand } from "./agent_routes.ts";

const log = getLogger(["scriptmon", "collector", "api"]);

/** Remote actions on a script (`logs` has its own route: `routes_logs.ts`). */
export const ACTIONS = commandSchema.shape.action.options.filter(
  (a): a is Exclude<typeof a, "logs"> => a !== "logs",
);

/** Columns of `GET /api/v1/events?format=csv|xlsx`, in order. */
export const EVENT_CSV_COLUMNS = [
  "at",
  "site",
  "host",
  "seq",
  "kind",
  "script",
  "receivedAt",
  "data",
] as const;

/** An agent as the API shows it (without the store's bookkeeping). */
function publicAgent(agent: AgentRecord) {
  const {
    ahead: _ahead,
    scriptChunks: _chunks,
    scriptsAt: _scriptsAt,
    scriptsDigest: _digest,
    ...rest
  } = agent;
  return rest;
}

/** The user API routes, to mount at `/api/v1`. */
/** Agents read per store round trip while filling a page of scripts. */
const AGENTS_PER_READ = 200;
/** A page stops after reading this many agents (it hands back a cursor). */
const AGENT_SCAN_BUDGET = 20_000;

function encodeCursor(row: { site: string; host: string; script: string }): string {
  return btoa(JSON.stringify([row.site, row.host, row.script])).replaceAll("=", "");
}

function decodeCursor(text: string): { site: string; host: string; script: string } {
  try {
    const [site, host, script] = JSON.parse(atob(text));
    if ([site, host, script].every((part) => typeof part === "string")) {
      return { site, host, script };
    }
  } catch { /* below */ }
  throw new HttpError(
    400,
    `cursor: expected the cursor of a previous page, got ${JSON.stringify(text.slice(0, 40))}`,
  );
}

function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/**
 * One page of script rows in (site, host, script) order, after `cursor`: agents are read from
 * the store a few hundred at a time, so the first page of a big fleet does not read it all.
 */
async function scriptPage(
  store: Store,
  scope: ReturnType<typeof siteScope>,
  filter: Parameters<typeof scriptRows>[1],
  options: { limit: number; cursor: string | undefined },
): Promise<{ rows: ScriptRow[]; next: string | null }> {
  const after = options.cursor === undefined ? null : decodeCursor(options.cursor);
  const rows: ScriptRow[] = [];
  let from = after === null ? undefined : { site: after.site, host: after.host };
  for (let scanned = 0; scanned < AGENT_SCAN_BUDGET; scanned += AGENTS_PER_READ) {
    const fleet = await store.pageScripts({
      ...(scope.site === undefined ? {} : { site: scope.site }),
      ...(from === undefined ? {} : { from }),
      limit: AGENTS_PER_READ + 1,
    });
    const more = fleet.length > AGENTS_PER_READ;
    for (const entry of fleet.slice(0, AGENTS_PER_READ)) {
      if (!inScope(scope, entry.agent.site)) continue;
      const ordered = scriptRows([entry], filter).sort((x, y) => x.script < y.script ? -1 : 1);
      for (const row of ordered) {
        const key = [row.site, row.host, row.script];
        if (after !== null && compareKeys(key, [after.site, after.host, after.script]) <= 0) {
          continue;
        }
        rows.push(row);
        if (rows.length === options.limit) return { rows, next: encodeCursor(row) };
      }
    }
    if (!more) return { rows, next: null };
    const next = fleet[AGENTS_PER_READ].agent;
    from = { site: next.site, host: next.host };
  }
  // Out of budget: the next page starts at the first agent not read.
  return { rows, next: from === undefined ? null : encodeCursor({ ...from, script: "" }) };
}

export function apiRoutes(
  deps: { store: Store; clock: Clock; commandTtlMs: number; uptime?: UptimeCache },
): Hono<CollectorEnv> {
  const { store, clock } = deps;
  const app = new Hono<CollectorEnv>();

  app.get("/sites", async (c) => {
    const scope = siteScope(c);
    const fleet = (await store.listScripts(scope.site === undefined ? {} : { site: scope.site }))
      .filter(({ agent }) => inScope(scope, agent.site));
    return c.json({ sites: siteSummaries(fleet) });
  });

  app.get("/agents", async (c) => {
    const scope = siteScope(c);
    const agents = (await store.listAgents(scope.site === undefined ? {} : { site: scope.site }))
      .filter((agent) => inScope(scope, agent.site));
    return c.json({ agents: agents.map(publicAgent) });
  });

  app.get("/scripts", async (c) => {
    const scope = siteScope(c);
    const filter = {
      host: queryText(c, "host"),
      state: queryText(c, "state"),
      health: queryText(c, "health"),
      q: queryText(c, "q"),
    };
    const limitText = c.req.query("limit");
    const page = limitText === undefined && c.req.query("cursor") === undefined
      ? null
      : await scriptPage(store, scope, filter, {
        limit: queryInt(c, "limit", { min: 1, max: 10_000, fallback: 1000 }),
        cursor: queryText(c, "cursor"),
      });
    const scripts = page?.rows ?? scriptRows(
      (await store.listScripts(scope.site === undefined ? {} : { site: scope.site }))
        .filter(({ agent }) => inScope(scope, agent.site)),
      filter,
    );
    const uptime = deps.uptime;
    if (page?.next) c.header("X-Next-Cursor", page.next);
    return c.json({
      scripts: scripts.map((row) => ({
        ...row,
        uptimeRatio24h: uptime?.ratio(row.site, row.host, row.script) ?? null,
      })),
      ...(page === null ? {} : { cursor: page.next }),
    });
  });

  app.get("/events", async (c) => {
    const format = queryEnum(c, "format", ["json", "csv", "xlsx"] as const, "json");
    const file = format !== "json";
    const since = queryTime(c, "since");
    const until = queryTime(c, "until");
    if (since !== undefined && until !== undefined && until < since) {
      throw new HttpError(
        400,
        `until: expected a time after since (${c.req.query("since")}), got ${
          JSON.stringify(c.req.query("until"))
        }`,
      );
    }
    const page = await store.listEvents({
      ...siteScope(c),
      host: queryText(c, "host"),
      kind: queryText(c, "kind"),
      since,
      until,
      cursor: queryCursor(c),
      limit: queryInt(c, "limit", {
        min: 1,
        max: file ? 10_000 : 1000,
        fallback: file ? 10_000 : 100,
      }),
    }).catch((error: unknown) => {
      if (error instanceof TypeError && /cursor/i.test(error.message)) {
        throw new HttpError(
          400,
          `cursor: expected a cursor from a previous page, got "${c.req.query("cursor")}"`,
          {
            cause: error,
          },
        );
      }
      throw error;
    });
    if (format === "xlsx") {
      const headers: Record<string, string> = {
        "Content-Type": XLSX_CONTENT_TYPE,
        "Content-Disposition": 'attachment; filename="events.xlsx"',
      };
      if (page.cursor !== null) headers["X-Next-Cursor"] = page.cursor;
      const workbook = await toXlsx([{
        name: "events",
        columns: EVENT_CSV_COLUMNS,
        rows: page.events as unknown as Record<string, unknown>[],
      }]);
      return c.body(workbook as Uint8Array<ArrayBuffer>, 200, headers);
    }
    if (format === "csv") {
      const headers: Record<string, string> = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="events.csv"',
      };
      if (page.cursor !== null) headers["X-Next-Cursor"] = page.cursor;
      return c.body(
        toCsv(EVENT_CSV_COLUMNS, page.events as unknown as Record<string, unknown>[]),
        200,
        headers,
      );
    }
    return c.json({ events: page.events satisfies StoredEvent[], cursor: page.cursor });
  });

  app.post("/agents/:site/:host/scripts/:name/:action", async (c) => {
    const { site, host, name, action } = c.req.param();
    checkSite(c, site);
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new HttpError(
        404,
        `No action "${action}": expected one of ${ACTIONS.join(", ")}`,
      );
    }
    const scripts = await store.getScripts(site, host);
    if (scripts === null) throw new HttpError(404, `No agent ${site}/${host} has reported`);
    if (!scripts.some((s) => s.name === name)) {
      throw new HttpError(404, `Agent ${site}/${host} has not reported a script "${name}"`);
    }
    const command = await store.commands.queue({
      site,
      host,
      action: action as typeof ACTIONS[number],
      script: name,
      requestedBy: c.get("actor"),
      ttlMs: deps.commandTtlMs,
      now: clock.now(),
    });
    log.info("Command {id}: {action} {script} on {site}/{host}, requested by {by}", {
      id: command.id,
      action,
      script: name,
      site,
      host,
      by: command.requestedBy,
    });
    return c.json({ id: command.id, command: toWireCommand(command) }, 202);
  });

  app.get("/alerts", async (c) => {
    const state = queryEnum(c, "state", ["all", "firing", "resolved"] as const, "all");
    const scope = siteScope(c);
    const alerts = (await store.alerts.list({
      ...(state === "all" ? {} : { state }),
      ...(scope.site === undefined ? {} : { site: scope.site }),
    })).filter((alert) => inScope(scope, alert.site));
    return c.json({ alerts });
  });

  app.post("/alerts/:id/ack", async (c) => {
    const { id } = c.req.param();
    const by = c.get("actor");
    const existing = await store.alerts.get(id);
    if (existing === null) throw new HttpError(404, `No alert "${id}"`);
    checkSite(c, existing.site);
    const alert = await store.alerts.ack(id, { by, now: clock.now() });
    if (alert === null) throw new HttpError(404, `No alert "${id}"`);
    log.info("Alert {id} ({title}) acknowledged by {by}", { id, title: alert.title, by });
    return c.json({ alert });
  });

  app.get("/agents/:site/:host/commands/:id", async (c) => {
    const { site, host, id } = c.req.param();
    checkSite(c, site);
    const command = await store.commands.get(site, host, id);
    if (command === null) throw new HttpError(404, `No command "${id}" for agent ${site}/${host}`);
    return c.json({ command });
  });

  return app;
}

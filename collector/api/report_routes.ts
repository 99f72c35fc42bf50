/**
 * Uptime and history under `/api/v1`: the uptime report of the fleet (JSON
 * or CSV), one script's history (uptime, state segments, resource
 * samples) for its page, and every agent's tokens with their time left.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { checkSite, inScope, siteScope } from "../auth/access.ts";
import type { CollectorEnv } from "../auth/authenticate.ts";
import type { Clock } from "../clock.ts";
import { toCsv } from "../http/csv.ts";
import { toXlsx, XLSX_CONTENT_TYPE } from "../http/xlsx.ts";
import { HttpError } from "../http/http_error.ts";
import { queryEnum, queryTime } from "../http/request.ts";
import type { Store } from "../store/store.ts";
import type { Outbox } from "../../shared/notify/outbox.ts";
import { buildDigest } from "../fleet/digest.ts";
import {
  DAY_MS,
  scriptSegments,
  scriptUptime,
  UPTIME_CSV_COLUMNS,
  uptimeCsvRow,
  uptimeReport,
} from "../fleet/uptime.ts";

/** The longest window a report or history may cover. */
const MAX_WINDOW_MS = 400 * DAY_MS;

/** `since`/`until` of the query (ISO), defaulting to the `fallbackMs` before now. */
export function queryWindow(
  c: Context,
  now: number,
  fallbackMs: number,
): { since: number; until: number } {
  // Nothing is known of the future: a window ends now at the latest.
  const until = Math.min(queryTime(c, "until") ?? now, now);
  const since = queryTime(c, "since") ?? until - fallbackMs;
  if (until <= since) {
    throw new HttpError(
      400,
      `until: expected a time after since (${new Date(since).toISOString()}), got ${
        JSON.stringify(c.req.query("until") ?? new Date(until).toISOString())
      }`,
    );
  }
  if (until - since > MAX_WINDOW_MS) {
    throw new HttpError(
      400,
      `since: a window may cover at most 400 days, got ${c.req.query("since")}`,
    );
  }
  return { since, until };
}

/** The report and history routes, to mount at `/api/v1`. */
export function reportRoutes(
  deps: { store: Store; clock: Clock; outbox?: Outbox },
): Hono<CollectorEnv> {
  const { store, clock } = deps;
  const app = new Hono<CollectorEnv>();

  // A site's (or the fleet's) digest of a period: what the reports page and [[reports]] show.
  app.get("/reports/digest", async (c) => {
    const window = queryWindow(c, clock.now(), DAY_MS);
    const scope = siteScope(c);
    // The fleet's digest is for whom sees every site; one limited to a single site gets that.
    const site = scope.site ?? (scope.sites?.length === 1 ? scope.sites[0] : undefined);
    if (site === undefined && scope.sites !== undefined) {
      throw new HttpError(
        400,
        `site: expected one of ${scope.sites.join(", ")} (a digest covers one site), got none`,
      );
    }
    const digest = await buildDigest(
      { store, ...(deps.outbox === undefined ? {} : { outbox: deps.outbox }) },
      { ...window, ...(site === undefined ? {} : { site }) },
    );
    return c.json({
      ...digest,
      since: new Date(digest.since).toISOString(),
      until: new Date(digest.until).toISOString(),
    });
  });

  app.get("/reports/uptime", async (c) => {
    const format = queryEnum(c, "format", ["json", "csv", "xlsx"] as const, "json");
    const window = queryWindow(c, clock.now(), 7 * DAY_MS);
    const scope = siteScope(c);
    const rows = (await uptimeReport(store, {
      ...window,
      ...(scope.site === undefined ? {} : { site: scope.site }),
    })).filter((row) => inScope(scope, row.site));
    if (format === "csv") {
      return c.body(toCsv(UPTIME_CSV_COLUMNS, rows.map(uptimeCsvRow)), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="uptime.csv"',
      });
    }
    if (format === "xlsx") {
      // As the CSV, with the percentage a number.
      const workbook = await toXlsx([{
        name: "uptime",
        columns: UPTIME_CSV_COLUMNS,
        rows: rows.map((row) => ({
          ...row,
          uptimePercent: row.ratio === null ? null : Math.round(row.ratio * 100_000) / 1000,
        })),
      }]);
      return c.body(workbook as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": XLSX_CONTENT_TYPE,
        "Content-Disposition": 'attachment; filename="uptime.xlsx"',
      });
    }
    return c.json({
      since: new Date(window.since).toISOString(),
      until: new Date(window.until).toISOString(),
      scripts: rows,
    });
  });

  app.get("/agents/:site/:host/scripts/:name/history", async (c) => {
    const { site, host, name } = c.req.param();
    checkSite(c, site);
    const scripts = await store.getScripts(site, host);
    if (scripts === null) throw new HttpError(404, `No agent ${site}/${host} has reported`);
    if (!scripts.some((s) => s.name === name)) {
      throw new HttpError(404, `Agent ${site}/${host} has not reported a script "${name}"`);
    }
    const window = queryWindow(c, clock.now(), DAY_MS);
    const query = { site, host, script: name, ...window };
    const [uptime, segments, resources] = await Promise.all([
      scriptUptime(store, query),
      scriptSegments(store, query),
      store.history.resourceSeries(site, host, name, window),
    ]);
    const iso = (ms: number) => new Date(ms).toISOString();
    return c.json({
      since: iso(window.since),
      until: iso(window.until),
      uptime,
      segments: segments.map((s) => ({ from: iso(s.from), to: iso(s.to), state: s.state })),
      resources,
    });
  });

  app.get("/tokens", async (c) => {
    const scope = siteScope(c);
    const now = clock.now();
    const agents = (await store.agentTokens(scope.site === undefined ? {} : { site: scope.site }))
      .filter((agent) => inScope(scope, agent.site));
    return c.json({
      tokens: agents.flatMap((agent) =>
        agent.tokens.map((t) => ({
          site: agent.site,
          host: agent.host,
          ...t,
          // Counted from the collector's clock now, not from the last heartbeat.
          secondsLeft: t.expiresAt === null
            ? t.secondsLeft
            : Math.round((Date.parse(t.expiresAt) - now) / 1000),
        }))
      ),
    });
  });

  return app;
}

/**
 * The routes of the script, log, alerts, notifications, reports and export pages,
 * and their static files (`/static/uplot.js` and the like, see
 * `assets.ts`). Mount before `webRoutes()`, whose `/static/:name` answers
 * 404 for names it does not know. Sign-in, CSRF and roles are `auth.ts`'s;
 * every page shows only the sites the signed-in user may see.
 *
 * @module
 */
import { Hono } from "hono";
import type { ListFilter, Outbox } from "../../shared/notify/outbox.ts";
import { isActive, type Silence } from "../../shared/notify/silences.ts";
import { MESSAGE_STATES, type MessageRecord } from "../../shared/notify/types.ts";
import { type CollectorEnv, signedIn } from "../auth/authenticate.ts";
import type { Clock } from "../clock.ts";
import { HttpError } from "../http/http_error.ts";
import type { Store } from "../store/store.ts";
import { canSeeSite } from "../auth/users.ts";
import { queryEnum, queryText } from "../http/request.ts";
import { scopedMessage } from "../api/alerting_routes.ts";
import { renderAlertsPage } from "./alerts_page.tsx";
import { PAGE_ASSETS } from "./assets.ts";
import { renderExportPage } from "./export_page.tsx";
import { buildDigest } from "../fleet/digest.ts";
import { parsePeriod, type ReportPeriod } from "./report_period.ts";
import { renderReportsPage } from "./reports_page.tsx";
import { renderLogPage } from "./log_page.tsx";
import {
  type NotificationFilter,
  renderNotificationsPage,
  sitesOf,
} from "./notifications_page.tsx";
import { loadScriptView, renderScriptPage } from "./script_page.tsx";

/** What the alerts and notifications pages read of the collector's alerting, when it has one. */
export interface PagesAlerting {
  outbox: { list(filter: ListFilter): Promise<MessageRecord[]> };
  /** The silences in force (config file's and run time's). */
  silences(): (Silence & { source?: string })[];
}

/** The pages' view of the collector's alerting (`AlertControl` and the config's silences). */
export function pagesAlerting(
  control: { outbox: PagesAlerting["outbox"]; rules: { silences(): Silence[] } },
  options: { silences: () => readonly Silence[]; now: () => number },
): PagesAlerting {
  return {
    outbox: control.outbox,
    silences: () => [
      ...options.silences().filter((s) => isActive(s, options.now())).map((s) => ({
        ...s,
        source: "config",
      })),
      ...control.rules.silences().map((s) => ({ ...s, source: "api" })),
    ],
  };
}

/** What {@linkcode pageRoutes} needs. */
export interface PagesDeps {
  store: Store;
  clock: Clock;
  /** Absent: no notifications, no silences. */
  alerting?: PagesAlerting;
  /** The collector's outbox, whose messages the reports page counts; absent: none sent. */
  outbox?: Outbox;
}

/** Messages the notifications page shows at most. */
const PAGE_MESSAGES = 200;
/** Messages read to filter by site or end time. */
const SCAN_MESSAGES = 5000;

/** The page routes, to mount at `/`. */
export function pageRoutes(deps: PagesDeps): Hono<CollectorEnv> {
  const { store, clock } = deps;
  const app = new Hono<CollectorEnv>();

  // A page's own script or style; any other name goes on to the fleet page's files (`routes.ts`).
  // The same plain path as there: a param with a pattern beside a plain one on one path is more
  // than Hono's RegExpRouter takes, and every request then went through its slower TrieRouter.
  app.get("/static/:name", (c, next) => {
    const name = c.req.param("name");
    if (!Object.hasOwn(PAGE_ASSETS, name)) return next();
    const asset = PAGE_ASSETS[name];
    return c.body(asset.body, 200, { "Content-Type": asset.type, "Cache-Control": "no-cache" });
  });

  const visibleSites = async (user: ReturnType<typeof signedIn>) =>
    [...new Set((await store.listAgents()).map((a) => a.site))]
      .filter((s) => canSeeSite(user, s)).sort();

  app.get("/scripts/:site/:host/:script", async (c) => {
    const user = signedIn(c);
    const { site, host, script } = c.req.param();
    const cursor = queryText(c, "events");
    const view = canSeeSite(user, site)
      ? await loadScriptView(store, {
        site,
        host,
        script,
        now: clock.now(),
        ...(cursor === undefined ? {} : { eventsCursor: cursor }),
      }).catch((error: unknown) => {
        if (error instanceof TypeError && /cursor/i.test(error.message)) {
          throw new HttpError(
            400,
            `events: expected a cursor from the page's link, got "${cursor}"`,
          );
        }
        throw error;
      })
      : null;
    if (view === null) throw new HttpError(404, `No script "${script}" on ${site}/${host}`);
    return c.html(renderScriptPage(view, user));
  });

  app.get("/scripts/:site/:host/:script/log", async (c) => {
    const user = signedIn(c);
    const { site, host, script } = c.req.param();
    const agent = canSeeSite(user, site) ? await store.getAgent(site, host) : null;
    const scripts = agent === null ? null : await store.getScripts(site, host);
    if (agent === null || !scripts?.some((s) => s.name === script)) {
      throw new HttpError(404, `No script "${script}" on ${site}/${host}`);
    }
    return c.html(renderLogPage({ site, host, script, online: agent.online, user }));
  });

  app.get("/alerts", async (c) => {
    const user = signedIn(c);
    const state = queryEnum(c, "state", ["all", "firing", "resolved"] as const, "all");
    const site = queryText(c, "site");
    const alerts = (await store.alerts.list({
      ...(state === "all" ? {} : { state }),
      ...(site === undefined ? {} : { site }),
    })).filter((a) => canSeeSite(user, a.site)).slice(0, 500);
    const silences = deps.alerting?.silences()
      .filter((s) => s.match.site === undefined || canSeeSite(user, s.match.site)) ?? null;
    return c.html(renderAlertsPage({
      alerts,
      silences,
      filter: { state, ...(site === undefined ? {} : { site }) },
      sites: await visibleSites(user),
      now: deps.clock.now(),
    }, user));
  });

  app.get("/notifications", async (c) => {
    const user = signedIn(c);
    const filter: NotificationFilter = {};
    for (const name of ["channel", "state", "site", "since", "until"] as const) {
      const value = queryText(c, name);
      if (value !== undefined) filter[name] = value.slice(0, 100);
    }
    if (
      filter.state !== undefined && !(MESSAGE_STATES as readonly string[]).includes(filter.state)
    ) {
      throw new HttpError(
        400,
        `state: expected one of ${MESSAGE_STATES.join(", ")}, got ${JSON.stringify(filter.state)}`,
      );
    }
    const since = formTime("since", filter.since);
    const until = formTime("until", filter.until);
    const sites = await visibleSites(user);
    let messages: MessageRecord[] | null = null;
    if (deps.alerting !== undefined) {
      const scoped = filter.site !== undefined || until !== undefined || user.sites !== null;
      const listed = await deps.alerting.outbox.list({
        ...(filter.state === undefined ? {} : { state: filter.state as ListFilter["state"] }),
        ...(filter.channel === undefined ? {} : { channel: filter.channel }),
        ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
        limit: scoped ? SCAN_MESSAGES : PAGE_MESSAGES,
      });
      messages = listed
        .filter((m) => until === undefined || Date.parse(m.createdAt) < until)
        .filter((m) => filter.site === undefined || sitesOf(m).includes(filter.site))
        // A user of some sites sees the messages about them, and of grouped ones only
        // their own sites' members (relayed posts name no site).
        .map((m) => user.sites === null ? m : scopedMessage(m, (s) => canSeeSite(user, s)))
        .filter((m): m is MessageRecord => m !== null)
        .slice(0, PAGE_MESSAGES);
    }
    const channels = messages === null ? [] : [...new Set(messages.map((m) => m.channel))];
    if (filter.channel !== undefined && !channels.includes(filter.channel)) {
      channels.push(filter.channel);
    }
    return c.html(renderNotificationsPage({
      messages,
      filter,
      channels: channels.sort(),
      sites,
      limit: PAGE_MESSAGES,
    }, user));
  });

  app.get("/export", async (c) => {
    const user = signedIn(c);
    return c.html(renderExportPage({ user, sites: await visibleSites(user) }));
  });

  app.get("/reports", async (c) => {
    const user = signedIn(c);
    const now = clock.now();
    const asked = queryText(c, "site");
    if (asked !== undefined && !canSeeSite(user, asked)) {
      throw new HttpError(403, `User "${user.name}" may not see site "${asked}"`);
    }
    // The fleet's report is for whom sees every site; anyone else reports on one of theirs.
    const sites = [...user.sites ?? await visibleSites(user)];
    const site = asked ?? (user.sites === null ? null : user.sites[0]);
    if (site === undefined) throw new HttpError(403, `User "${user.name}" may see no site`);
    if (site !== null && !sites.includes(site)) sites.push(site);
    const from = queryText(c, "from")?.slice(0, 40);
    const to = queryText(c, "to")?.slice(0, 40);
    const page = { user, sites, site, now, notifying: deps.outbox !== undefined };
    let period: ReportPeriod;
    try {
      period = parsePeriod({
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
      }, now);
    } catch (error) {
      if (!(error instanceof SyntaxError || error instanceof RangeError)) throw error;
      // Said on the page, with the form to put it right.
      return c.html(
        renderReportsPage({
          ...page,
          from: from ?? "",
          to: to ?? "",
          digest: null,
          error: error.message,
        }),
        400,
      );
    }
    const digest = await buildDigest(
      { store, ...(deps.outbox === undefined ? {} : { outbox: deps.outbox }) },
      { since: period.since, until: period.until, ...(site === null ? {} : { site }) },
    );
    return c.html(renderReportsPage({ ...page, from: period.from, to: period.to, digest }));
  });

  return app;
}

/** A time of the filter form: ISO with a zone, or `datetime-local` text taken as UTC. */
function formTime(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) {
    throw new HttpError(
      400,
      `${name}: expected a time like "2026-12-01T10:00" (UTC), got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

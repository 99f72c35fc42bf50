/**
 * A script's page (`GET /scripts/<site>/<host>/<script>`): its state now,
 * a 24 h state timeline (SVG rendered here), uptime over 24 h and 7 d,
 * restarts, memory and CPU charts (uPlot, drawn by
 * `/static/script_page.js` from the samples in a data attribute), its
 * health checks with their last results, recent events (paged), the
 * control buttons and a link to the log viewer.
 *
 * @module
 */
import type { ScriptSummary } from "../../shared/protocol.ts";
import { formatBytes, formatDuration } from "../../shared/config/units.ts";
import type { SessionUser } from "../auth/authenticate.ts";
import type { Store } from "../store/store.ts";
import type { AgentRecord, StoredEvent } from "../store/types.ts";
import type { ResourcePoint } from "../store/history.ts";
import {
  bucketOf,
  DAY_MS,
  scriptSegments,
  scriptUptime,
  type Segment,
  type Uptime,
} from "../fleet/uptime.ts";
import { canControl, ControlButtons } from "./controls.tsx";
import { describeEvent } from "./event_text.ts";
import { actionsFor, toneOf } from "./fleet_page.tsx";
import { Layout, renderHtml, scriptHref, UtcTime } from "./layout.tsx";
import { logsApiPath } from "./log_page.tsx";

/** Events read per page of the store while looking for this script's. */
const EVENT_PAGE = 200;
/** Pages of the host's events read for one page of this script's. */
const EVENT_PAGES = 5;

/** Everything the page shows. */
export interface ScriptView {
  agent: AgentRecord;
  script: ScriptSummary;
  now: number;
  segments: Segment[];
  uptimeDay: Uptime;
  uptimeWeek: Uptime;
  resources: ResourcePoint[];
  events: StoredEvent[];
  /** The `events` cursor of the next (older) page; null when there is none. */
  olderEvents: string | null;
  /** The incident it is in (down now): since when, and the restarts since; null when up. */
  incident: { since: number; restarts: number } | null;
}

/** Reads what the page shows; null when the agent or script is unknown. */
export async function loadScriptView(
  store: Store,
  options: { site: string; host: string; script: string; now: number; eventsCursor?: string },
): Promise<ScriptView | null> {
  const { site, host, script, now } = options;
  const [agent, scripts] = await Promise.all([
    store.getAgent(site, host),
    store.getScripts(site, host),
  ]);
  const summary = scripts?.find((s) => s.name === script);
  if (agent === null || summary === undefined) return null;
  const day = { site, host, script, since: now - DAY_MS, until: now };
  const [segments, uptimeDay, uptimeWeek, resources, page] = await Promise.all([
    scriptSegments(store, day),
    scriptUptime(store, day),
    scriptUptime(store, { ...day, since: now - 7 * DAY_MS }),
    // The sample of the last heartbeat counts (until is exclusive).
    store.history.resourceSeries(site, host, script, { since: day.since, until: now + 1 }),
    scriptEvents(store, { site, host, script, cursor: options.eventsCursor }),
  ]);
  const streak = currentIncident(segments);
  const incident = streak === null ? null : {
    since: streak.since,
    restarts: (await scriptUptime(store, { ...day, since: streak.since })).restarts,
  };
  return {
    agent,
    script: summary,
    now,
    incident,
    segments,
    uptimeDay,
    uptimeWeek,
    resources: withCurrent(resources, summary, now),
    events: page.events,
    olderEvents: page.cursor,
  };
}

/** The samples and, when the last is over a minute old (or empty), the last heartbeat's values at `now`. */
function withCurrent(points: ResourcePoint[], s: ScriptSummary, now: number): ResourcePoint[] {
  const last = points.at(-1);
  const fresh = last !== undefined && now - Date.parse(last.at) <= 60_000;
  // The first heartbeat's sample comes before the agent has measured anything.
  if (fresh && (last.rssBytes !== null || s.rssBytes === null)) return points;
  if (s.rssBytes === null && s.cpuPercent === null) return points;
  return [...points, {
    at: new Date(now).toISOString(),
    rssBytes: s.rssBytes,
    cpuPercent: s.cpuPercent,
  }];
}

/** This script's events, newest first, from a few pages of its host's. */
async function scriptEvents(
  store: Store,
  q: { site: string; host: string; script: string; cursor: string | undefined },
): Promise<{ events: StoredEvent[]; cursor: string | null }> {
  const events: StoredEvent[] = [];
  let cursor: string | null = q.cursor ?? null;
  for (let i = 0; i < EVENT_PAGES; i++) {
    const page = await store.listEvents({
      site: q.site,
      host: q.host,
      limit: EVENT_PAGE,
      ...(cursor === null ? {} : { cursor }),
    });
    events.push(...page.events.filter((e) => e.script === q.script));
    cursor = page.cursor;
    if (cursor === null || events.length >= 25) break;
  }
  return { events, cursor };
}

/** The whole page. */
export function renderScriptPage(view: ScriptView, user: SessionUser): string {
  const { agent, script: s } = view;
  const href = scriptHref(agent.site, agent.host, s.name);
  return renderHtml(
    <Layout
      title={`${s.name} on ${agent.host}`}
      user={user}
      scripts={["/static/uplot.js", "/static/script_page.js"]}
    >
      <link rel="stylesheet" href="/static/uplot.css" />
      <link rel="stylesheet" href="/static/pages.css" />
      <p class="crumbs">
        <a href={`/?site=${encodeURIComponent(agent.site)}`}>{agent.site}</a> / {agent.host}
        {agent.online ? null : <strong class="badge bad">agent offline</strong>}
      </p>
      <div class="page-head">
        <h1>{s.name}</h1>
        <span class={`badge ${toneOf(s)}`} id="state">{s.state}</span>
        {s.checks.length === 0 ? null : <span class="badge">{s.health}</span>}
        <a href={`${href}/log`}>Log</a>
        {canControl(user)
          ? (
            <ControlButtons
              site={agent.site}
              host={agent.host}
              script={s.name}
              actions={actionsFor(s)}
            />
          )
          : null}
      </div>
      {s.reason === null ? null : <p class="muted">{s.reason}</p>}
      <Incident view={view} />
      <Cards view={view} />
      <section class="panel timeline">
        <h2>State, last 24 hours</h2>
        <Timeline segments={view.segments} since={view.now - DAY_MS} until={view.now} />
      </section>
      <section class="panel">
        <h2>Memory and CPU, last 24 hours</h2>
        <div class="charts">
          <Chart
            id="chart-rss"
            label="Memory (RSS)"
            unit="MiB"
            points={series(view.resources, "rss")}
            now={view.now}
          />
          <Chart
            id="chart-cpu"
            label="CPU"
            unit="%"
            points={series(view.resources, "cpu")}
            now={view.now}
          />
        </div>
      </section>
      <section class="panel">
        <h2>Health checks</h2>
        <Checks checks={s.checks} />
      </section>
      <section class="panel">
        <h2>Recent events</h2>
        <Events events={view.events} />
        <div class="pager">
          {view.olderEvents === null
            ? null
            : <a href={`${href}?events=${encodeURIComponent(view.olderEvents)}`}>Older events</a>}
        </div>
      </section>
    </Layout>,
  );
}

function percent(u: Uptime): string {
  return u.ratio === null ? "–" : `${(u.ratio * 100).toFixed(2)} %`;
}

/** A moment as people read it: `2026-12-05 18:10:01 UTC · 8s ago` (the page's script shows it in local time). */
export function When(props: { at: string; now: number }) {
  const ago = props.now - Date.parse(props.at);
  return (
    <>
      <UtcTime iso={props.at} />
      {ago >= 0 ? ` · ${formatDuration(ago)} ago` : ""}
    </>
  );
}

/** A run this long ends an incident (as the agent ends a crash loop). */
const HELD_MS = 10 * 60_000;

/**
 * When the incident the script is in began: the first failure of its current streak (down time,
 * and runs that did not last {@linkcode HELD_MS}); null when it is not down now.
 */
export function currentIncident(segments: readonly Segment[]): { since: number } | null {
  const last = segments.at(-1);
  if (last === undefined || bucketOf(last.state) !== "down") return null;
  let since = last.from;
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i];
    const bucket = bucketOf(seg.state);
    if (bucket !== "down" && !(bucket === "up" && seg.to - seg.from < HELD_MS)) break;
    since = seg.from;
  }
  return { since };
}

function Incident(props: { view: ScriptView }) {
  const { view } = props;
  const incident = view.incident;
  if (incident === null) return null;
  const exit = view.script.lastExit;
  return (
    <section class="panel incident" id="incident">
      <h2>Current incident</h2>
      <p>
        {"Down since "}
        <When at={new Date(incident.since).toISOString()} now={view.now} />
        {`, ${incident.restarts} restart${incident.restarts === 1 ? "" : "s"} since`}
        {exit === null
          ? "."
          : `; it last exited with ${
            exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`
          }.`} Its whole output is in the{" "}
        <a href={`${scriptHref(view.agent.site, view.agent.host, view.script.name)}/log`}>log</a>.
      </p>
      {view.agent.online
        ? (
          // Filled by /static/script_page.js from the agent's log (as the log page reads it).
          <div
            class="stderr"
            id="incident-stderr"
            data-src={logsApiPath(view.agent.site, view.agent.host, view.script.name)}
            hidden
          >
            <h3>Its last lines on stderr</h3>
            <pre></pre>
          </div>
        )
        : null}
    </section>
  );
}

function Cards(props: { view: ScriptView }) {
  const { script: s, uptimeDay, uptimeWeek } = props.view;
  const exit = s.lastExit;
  return (
    <div class="cards">
      <div class="card">
        <h2>Uptime 24 h</h2>
        <div class="big" id="uptime-24h">{percent(uptimeDay)}</div>
      </div>
      <div class="card">
        <h2>Uptime 7 d</h2>
        <div class="big" id="uptime-7d">{percent(uptimeWeek)}</div>
      </div>
      <div class="card">
        <h2>Restarts, 24 h</h2>
        <div class="big">{uptimeDay.restarts}</div>
        <small>{`${uptimeWeek.restarts} in 7 days · ${s.restarts} since the agent started`}</small>
      </div>
      <div class="card">
        <h2>Process</h2>
        <div>{s.pid === null ? "not running" : `pid ${s.pid}`}</div>
        <small>
          {s.uptimeMs === null || s.uptimeMs < 0 ? "" : `up ${formatDuration(s.uptimeMs)}`}
        </small>
      </div>
      <div class="card">
        <h2>Resources now</h2>
        <div>{s.rssBytes === null ? "–" : formatBytes(s.rssBytes)}</div>
        <small>{s.cpuPercent === null ? "" : `${s.cpuPercent.toFixed(1)} % CPU`}</small>
      </div>
      <div class="card">
        <h2>Last exit</h2>
        <div>
          {exit === null
            ? "–"
            : exit.signal === null
            ? `code ${exit.code}`
            : `signal ${exit.signal}`}
        </div>
        <small>{exit === null ? "" : <When at={exit.at} now={props.view.now} />}</small>
      </div>
    </div>
  );
}

/** The coloured bar: one rect per state segment over `[since, until)`. */
export function Timeline(props: { segments: Segment[]; since: number; until: number }) {
  const span = props.until - props.since;
  const x = (ms: number) =>
    ((Math.min(Math.max(ms, props.since), props.until) - props.since) / span) * 1000;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  return (
    <div>
      <svg viewBox="0 0 1000 20" preserveAspectRatio="none" role="img" aria-label="State timeline">
        <rect x="0" y="0" width="1000" height="20" class="seg-unknown" />
        {props.segments.map((seg) => {
          const left = x(seg.from);
          const width = Math.max(0.5, x(seg.to) - left);
          return (
            <rect
              x={left.toFixed(2)}
              y="0"
              width={width.toFixed(2)}
              height="20"
              class={`seg-${bucketOf(seg.state)}`}
            >
              <title>{`${seg.state ?? "unknown"}: ${iso(seg.from)} – ${iso(seg.to)} UTC`}</title>
            </rect>
          );
        })}
      </svg>
      <div class="axis">
        <span>{iso(props.since)} UTC</span>
        <span>now</span>
      </div>
      <div class="legend">
        <span>
          <i class="k-up"></i>up
        </span>
        <span>
          <i class="k-down"></i>down
        </span>
        <span>
          <i class="k-idle"></i>stopped
        </span>
        <span>
          <i class="k-unknown"></i>unknown (agent offline)
        </span>
      </div>
    </div>
  );
}

/** uPlot's data: `[[epoch seconds...], [values...]]`. */
export function series(
  points: ResourcePoint[],
  which: "rss" | "cpu",
): [number[], (number | null)[]] {
  return [
    points.map((p) => Math.round(Date.parse(p.at) / 1000)),
    points.map((p) =>
      which === "rss"
        ? (p.rssBytes === null ? null : Math.round(p.rssBytes / 1024 / 1024 * 10) / 10)
        : p.cpuPercent
    ),
  ];
}

function Chart(
  props: {
    id: string;
    label: string;
    unit: string;
    points: [number[], (number | null)[]];
    now: number;
  },
) {
  const measured = props.points[1].filter((v) => v !== null).length;
  if (measured < 2) {
    return (
      <figure>
        <figcaption>{props.label}</figcaption>
        <p class="empty" id={props.id}>
          {measured === 0
            ? "No samples yet: the agent sends one every 5 minutes while the script runs."
            : "One sample so far: the chart starts with the next (every 5 minutes)."}
        </p>
      </figure>
    );
  }
  return (
    <figure>
      <figcaption>{props.label}</figcaption>
      <div
        class="chart"
        id={props.id}
        data-label={props.label}
        data-unit={props.unit}
        data-since={String(Math.round((props.now - DAY_MS) / 1000))}
        data-until={String(Math.round(props.now / 1000))}
        data-points={JSON.stringify(props.points)}
      />
    </figure>
  );
}

function Checks(props: { checks: ScriptSummary["checks"] }) {
  if (props.checks.length === 0) return <p class="empty">No health checks configured.</p>;
  return (
    <table class="list">
      <thead>
        <tr>
          <th>Check</th>
          <th>Status</th>
          <th>Last result</th>
        </tr>
      </thead>
      <tbody>
        {props.checks.map((c) => (
          <tr>
            <td>{c.name}</td>
            <td class={`st-${c.status}`}>{c.status}</td>
            <td>{c.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Events(props: { events: StoredEvent[] }) {
  if (props.events.length === 0) return <p class="empty">No events on this page.</p>;
  return (
    <table class="list" id="events">
      <thead>
        <tr>
          <th>Time</th>
          <th>Kind</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => (
          <tr>
            <td>
              <UtcTime iso={e.at} />
            </td>
            <td>{e.kind}</td>
            <td>{describeEvent(e.kind, e.data)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

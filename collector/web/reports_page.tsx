/**
 * The reports page (`GET /reports`): a site's (or the fleet's) digest of
 * any past period of whole UTC days, the one `[[reports]]` sends: headline
 * numbers, uptime per script as bars (worst first), the incidents and
 * anomalies with how long they lasted, the tokens needing someone, and the
 * period's downloads (uptime as CSV or Excel, the digest as JSON).
 *
 * @module
 */
import type { SessionUser } from "../auth/authenticate.ts";
import type { Digest, DigestIncident, DigestScript } from "../fleet/digest.ts";
import { formatDuration } from "../../shared/config/mod.ts";
import { DAY_MS } from "../fleet/uptime.ts";
import { Layout, renderHtml, scriptHref, UtcTime } from "./layout.tsx";
import { quickPeriods } from "./report_period.ts";

/** Scripts drawn as bars at most; the rest are counted (and in the downloads). */
export const MAX_BARS = 30;
/** Incidents (and anomalies) listed at most; all of them are in the JSON digest. */
export const MAX_INCIDENTS = 200;

/** What the page shows. */
export interface ReportsView {
  user: SessionUser;
  /** The sites the user may choose from. */
  sites: string[];
  /** The chosen site; null: every site (only for a user of every site). */
  site: string | null;
  /** The form's days as given (shown back in the inputs). */
  from: string;
  to: string;
  now: number;
  /** Null when the form was refused: `error` says why. */
  digest: Digest | null;
  error?: string;
  /** Whether the collector sends notifications (has an outbox to count). */
  notifying: boolean;
}

/** `/reports` with the site and days. */
function reportHref(site: string | null, from: string, to: string): string {
  return `/reports?${new URLSearchParams({ ...(site === null ? {} : { site }), from, to })}`;
}

/** An API download of the digest's site and window. */
function apiHref(path: string, digest: Digest, format?: string): string {
  return `${path}?${new URLSearchParams({
    ...(format === undefined ? {} : { format }),
    ...(digest.site === null ? {} : { site: digest.site }),
    since: new Date(digest.since).toISOString(),
    until: new Date(digest.until).toISOString(),
  })}`;
}

/** A ratio as a percentage, floored (100.00 % only when nothing was down). */
function percent(ratio: number | null): string {
  // The epsilon keeps 0.57 at 57.00 % (0.57 * 10_000 is 5699.999...).
  return ratio === null ? "–" : `${(Math.floor(ratio * 10_000 + 1e-6) / 100).toFixed(2)} %`;
}

/** The whole page. */
export function renderReportsPage(view: ReportsView): string {
  const { digest } = view;
  return renderHtml(
    <Layout title="Reports" user={view.user} current="/reports">
      <link rel="stylesheet" href="/static/pages.css" />
      <div class="page-head">
        <h1>Reports</h1>
      </div>
      <PeriodForm view={view} />
      {view.error === undefined ? null : <p class="error" role="alert">{view.error}</p>}
      {digest === null ? null : (
        <>
          <PeriodLine digest={digest} />
          <Headline digest={digest} notifying={view.notifying} />
          <section class="panel">
            <h2>Uptime per script, worst first</h2>
            <UptimeBars scripts={digest.scripts} />
          </section>
          <section class="panel">
            <h2>Incidents</h2>
            <Incidents incidents={digest.incidents} id="incidents" none="No incidents." />
          </section>
          <section class="panel">
            <h2>Anomalies</h2>
            <Incidents incidents={digest.anomalies} id="anomalies" none="No anomalies." />
          </section>
          <section class="panel">
            <h2>Tokens needing someone now</h2>
            <Tokens tokens={digest.tokens} />
          </section>
        </>
      )}
    </Layout>,
  );
}

function PeriodForm(props: { view: ReportsView }) {
  const { view } = props;
  const today = new Date(view.now).toISOString().slice(0, 10);
  return (
    <>
      <form class="inline" method="get" action="/reports" id="report-form">
        <label>
          Site
          <select name="site">
            {view.user.sites === null ? <option value="">All sites</option> : null}
            {view.sites.map((s) => <option key={s} value={s} selected={view.site === s}>{s}
            </option>)}
          </select>
        </label>
        <label>
          From
          <input type="date" name="from" value={view.from} max={today} required />
        </label>
        <label>
          To (included)
          <input type="date" name="to" value={view.to} max={today} required />
        </label>
        <button type="submit">Show</button>
      </form>
      <p class="quick">
        {quickPeriods(view.now).map((p) => (
          <a
            href={reportHref(view.site, p.from, p.to)}
            aria-current={p.from === view.from && p.to === view.to ? "page" : undefined}
          >
            {p.label}
          </a>
        ))}
        <span class="muted">
          Days are UTC days (the collector's clock); a period that takes in today ends now.
        </span>
      </p>
    </>
  );
}

function PeriodLine(props: { digest: Digest }) {
  const { digest } = props;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const last = day(digest.until - 1);
  const whole = digest.until % DAY_MS === 0;
  return (
    <p class="period" id="period">
      <span>
        <strong>{digest.site ?? "All sites"}</strong>
        {` · ${day(digest.since)}${last === day(digest.since) ? "" : ` to ${last}`} (UTC)`}
        {whole ? "" : `, up to ${new Date(digest.until).toISOString().slice(11, 16)} UTC`}
      </span>
      <span class="downloads" id="downloads">
        {"Download: "}
        <a href={apiHref("/api/v1/reports/uptime", digest, "csv")}>uptime (CSV)</a>
        {" · "}
        <a href={apiHref("/api/v1/reports/uptime", digest, "xlsx")}>uptime (Excel)</a>
        {" · "}
        <a href={apiHref("/api/v1/reports/digest", digest)}>digest (JSON)</a>
      </span>
    </p>
  );
}

function Headline(props: { digest: Digest; notifying: boolean }) {
  const { digest } = props;
  const judged = digest.scripts.filter((s) => s.uptime !== null);
  const up = judged.reduce((sum, s) => sum + s.upMs, 0);
  const down = judged.reduce((sum, s) => sum + s.downMs, 0);
  const restarts = digest.scripts.reduce((sum, s) => sum + s.restarts, 0);
  const below = judged.filter((s) => (s.uptime ?? 1) < 1).length;
  const open = digest.incidents.filter((i) => i.resolvedAt === null).length;
  const n = digest.notifications;
  return (
    <div class="cards" id="headline">
      <div class="card">
        <h2>Uptime</h2>
        <div class="big" id="uptime-all">{percent(up + down === 0 ? null : up / (up + down))}</div>
        <small>{down === 0 ? "no downtime" : `down ${formatDuration(down)} in all`}</small>
      </div>
      <div class="card">
        <h2>Scripts</h2>
        <div class="big">{digest.scripts.length}</div>
        <small>{`${below} below 100 %`}</small>
      </div>
      <div class="card">
        <h2>Restarts</h2>
        <div class="big">{restarts}</div>
      </div>
      <div class="card">
        <h2>Incidents</h2>
        <div class={`big${digest.incidents.length > 0 ? " st-failing" : ""}`}>
          {digest.incidents.length}
        </div>
        <small>{open === 0 ? "none still open" : `${open} still open`}</small>
      </div>
      <div class="card">
        <h2>Anomalies</h2>
        <div class="big">{digest.anomalies.length}</div>
      </div>
      <div class="card">
        <h2>Notifications</h2>
        <div class="big" id="sent">{props.notifying ? `${n.sent} sent` : "–"}</div>
        {props.notifying
          ? (
            <small id="failed" class={n.failed > 0 ? "st-failing" : undefined}>
              {`${n.failed} failed · ${n.silenced} silenced`}
            </small>
          )
          : <small>this collector sends no notifications</small>}
      </div>
    </div>
  );
}

/** One bar per script: the up part and the down part of the time it was judged. */
function UptimeBars(props: { scripts: DigestScript[] }) {
  if (props.scripts.length === 0) {
    return <p class="empty">No script reported in this period.</p>;
  }
  const shown = props.scripts.slice(0, MAX_BARS);
  const more = props.scripts.length - shown.length;
  return (
    <>
      <table class="list bars" id="uptime-bars">
        <thead>
          <tr>
            <th>Script</th>
            <th class="bar">Up and down</th>
            <th class="num">Uptime</th>
            <th class="num more">Down</th>
            <th class="num more">Restarts</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => (
            <tr data-script={s.script}>
              <td>
                <a href={scriptHref(s.site, s.host, s.script)}>{s.script}</a>
                <small class="muted">{` ${s.host} · ${s.site}`}</small>
              </td>
              <td class="bar">
                <Bar script={s} />
              </td>
              <td class="num pc">{percent(s.uptime)}</td>
              <td class="num more">{s.downMs === 0 ? "–" : formatDuration(s.downMs)}</td>
              <td class="num more">{s.restarts === 0 ? "–" : s.restarts}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more > 0
        ? (
          <p class="muted" id="more-scripts">
            {`and ${more} more script${more === 1 ? "" : "s"} (all of them in the downloads)`}
          </p>
        )
        : null}
      <div class="legend">
        <span>
          <i class="k-uup"></i>up
        </span>
        <span>
          <i class="k-udown"></i>down
        </span>
        <span>
          <i class="k-unone"></i>neither (stopped or agent offline throughout)
        </span>
      </div>
    </>
  );
}

function Bar(props: { script: DigestScript }) {
  const { uptime, downMs } = props.script;
  if (uptime === null) {
    return (
      <svg
        class="ubar"
        viewBox="0 0 100 10"
        preserveAspectRatio="none"
        role="img"
        aria-label="no data"
      >
        <rect x="0" y="0" width="100" height="10" class="u-none" />
      </svg>
    );
  }
  // Any downtime shows, however short next to the period.
  const downWidth = downMs === 0 ? 0 : Math.max(1, (1 - uptime) * 100);
  const upWidth = 100 - downWidth;
  return (
    <svg
      class="ubar"
      viewBox="0 0 100 10"
      preserveAspectRatio="none"
      role="img"
      aria-label={`${percent(uptime)} up`}
    >
      {upWidth > 0
        ? <rect x="0" y="0" width={upWidth.toFixed(2)} height="10" class="u-up" />
        : null}
      {downWidth > 0
        ? (
          <rect
            x={upWidth.toFixed(2)}
            y="0"
            width={downWidth.toFixed(2)}
            height="10"
            class="u-down"
          />
        )
        : null}
    </svg>
  );
}

function Incidents(props: { incidents: DigestIncident[]; id: string; none: string }) {
  if (props.incidents.length === 0) return <p class="empty">{props.none}</p>;
  const shown = props.incidents.slice(0, MAX_INCIDENTS);
  const more = props.incidents.length - shown.length;
  return (
    <>
      <table class="list" id={props.id}>
        <thead>
          <tr>
            <th>Severity</th>
            <th>What</th>
            <th>Where</th>
            <th>Fired</th>
            <th>Resolved</th>
            <th class="num">Lasted (in the period)</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((i) => (
            <tr>
              <td>
                <span
                  class={`badge ${
                    i.severity === "critical" ? "bad" : i.severity === "warning" ? "warn" : ""
                  }`}
                >
                  {i.severity}
                </span>
              </td>
              <td>{i.title}</td>
              <td>
                {i.script === null
                  ? `${i.site} / ${i.host}`
                  : (
                    <a href={scriptHref(i.site, i.host, i.script)}>
                      {`${i.site} / ${i.host} / ${i.script}`}
                    </a>
                  )}
              </td>
              <td>
                <UtcTime iso={i.firedAt} />
              </td>
              <td>
                {i.resolvedAt === null
                  ? <strong class="badge bad">still open</strong>
                  : <UtcTime iso={i.resolvedAt} />}
              </td>
              <td class="num">{formatDuration(i.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more > 0 ? <p class="muted">{`and ${more} more (in the JSON digest)`}</p> : null}
    </>
  );
}

function Tokens(props: { tokens: Digest["tokens"] }) {
  if (props.tokens.length === 0) return <p class="empty">Every token is fine.</p>;
  return (
    <table class="list" id="tokens">
      <thead>
        <tr>
          <th>Token</th>
          <th>Where</th>
          <th>State</th>
          <th>Expires</th>
        </tr>
      </thead>
      <tbody>
        {props.tokens.map((t) => (
          <tr>
            <td>{t.name}</td>
            <td>{`${t.site} / ${t.host}`}</td>
            <td>
              <span class={`badge ${t.state === "expiring" ? "warn" : "bad"}`}>{t.state}</span>
            </td>
            <td>{t.expiresAt === null ? "–" : <UtcTime iso={t.expiresAt} />}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The alerts page (`GET /alerts`): each alert once (its rule and where it
 * fired), with its episodes (fired, resolved, how long), the firing ones
 * first, then the newest; filtered by state and site; for operators and admins an
 * acknowledge button and a silence for 1 h, 4 h, 1 d or a custom period
 * (`/static/alerts_page.js` posts to `POST /api/v1/alerts/<id>/ack` and
 * `POST /api/v1/silences` with the CSRF token; the server checks the role
 * again), and the silences in force.
 *
 * @module
 */
import type { Silence } from "../../shared/notify/silences.ts";
import type { SessionUser } from "../auth/authenticate.ts";
import type { AlertRecord } from "../store/alerts.ts";
import { formatDuration } from "../../shared/config/units.ts";
import { canControl } from "./controls.tsx";
import { Layout, renderHtml, scriptHref, UtcTime } from "./layout.tsx";

/** The silence periods offered. */
export const SILENCE_CHOICES = [
  { value: "1h", label: "1 hour" },
  { value: "4h", label: "4 hours" },
  { value: "1d", label: "1 day" },
  { value: "custom", label: "Custom…" },
] as const;

/** What the page shows. */
export interface AlertsView {
  alerts: AlertRecord[];
  /** Silences in force; null when the collector has no alerting set up. */
  silences: (Silence & { source?: string })[] | null;
  filter: { state: "all" | "firing" | "resolved"; site?: string };
  sites: string[];
  now: number;
}

/** The silence matcher for an alert: its rule and where it fired. */
export function matcherOf(alert: AlertRecord): Record<string, string> {
  return {
    rule: alert.rule,
    site: alert.site,
    host: alert.host,
    ...(alert.script === null ? {} : { script: alert.script }),
  };
}

/** One alert (a rule where it fired) and its episodes, newest first. */
export interface AlertGroup {
  latest: AlertRecord;
  episodes: AlertRecord[];
}

/** `alerts` as one group per rule and place: firing first, then by their latest episode. */
export function groupAlerts(alerts: readonly AlertRecord[]): AlertGroup[] {
  const groups = new Map<string, AlertRecord[]>();
  for (const alert of alerts) {
    const key = JSON.stringify(matcherOf(alert));
    groups.set(key, [...groups.get(key) ?? [], alert]);
  }
  return [...groups.values()]
    .map((episodes) => {
      const sorted = episodes.sort((a, b) => b.firedAt.localeCompare(a.firedAt));
      return { latest: sorted[0], episodes: sorted };
    })
    .sort((a, b) =>
      Number(a.latest.resolvedAt !== null) - Number(b.latest.resolvedAt !== null) ||
      b.latest.firedAt.localeCompare(a.latest.firedAt)
    );
}

/** How long an episode lasted (or has lasted, while firing). */
function lasted(alert: AlertRecord, now: number): string {
  const end = alert.resolvedAt === null ? now : Date.parse(alert.resolvedAt);
  return formatDuration(Math.max(0, end - Date.parse(alert.firedAt)));
}

/** The whole page. */
export function renderAlertsPage(view: AlertsView, user: SessionUser): string {
  const operate = canControl(user);
  return renderHtml(
    <Layout title="Alerts" user={user} current="/alerts" scripts={["/static/alerts_page.js"]}>
      <link rel="stylesheet" href="/static/pages.css" />
      <div class="page-head">
        <h1>Alerts</h1>
      </div>
      <form class="inline" method="get" action="/alerts">
        <label>
          State
          <select name="state">
            {(["all", "firing", "resolved"] as const).map((s) => (
              <option key={s} value={s} selected={view.filter.state === s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Site
          <select name="site">
            <option value="">All sites</option>
            {view.sites.map((s) => (
              <option key={s} value={s} selected={view.filter.site === s}>{s}</option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      <p id="alertmsg" aria-live="polite"></p>
      {view.alerts.length === 0 ? <p class="empty">No alerts.</p> : (
        <table class="list" id="alerts">
          <thead>
            <tr>
              <th>Severity</th>
              <th>Alert</th>
              <th>Where</th>
              <th>Now</th>
              <th>Episodes</th>
              <th>Acknowledged</th>
              {operate ? <th>Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {groupAlerts(view.alerts).map(({ latest: a, episodes }) => (
              <tr
                key={a.id}
                data-alert={a.id}
                data-title={a.title}
                data-match={JSON.stringify(matcherOf(a))}
                class={a.resolvedAt === null ? "firing" : "resolved"}
              >
                <td>
                  <span
                    class={`badge ${
                      a.severity === "critical" ? "bad" : a.severity === "warning" ? "warn" : ""
                    }`}
                  >
                    {a.severity}
                  </span>
                </td>
                <td>{a.title}</td>
                <td>
                  {a.script === null
                    ? `${a.site} / ${a.host}`
                    : (
                      <a href={scriptHref(a.site, a.host, a.script)}>
                        {`${a.site} / ${a.host} / ${a.script}`}
                      </a>
                    )}
                </td>
                <td>
                  {a.resolvedAt === null
                    ? (
                      <>
                        <strong class="badge bad">firing</strong>
                        {` for ${lasted(a, view.now)}`}
                      </>
                    )
                    : (
                      <>
                        {"resolved "}
                        <UtcTime iso={a.resolvedAt} />
                      </>
                    )}
                </td>
                <td>
                  <details class="episodes">
                    <summary>
                      {`${episodes.length} episode${
                        episodes.length === 1 ? "" : "s"
                      }, the last from `}
                      <UtcTime iso={a.firedAt} />
                    </summary>
                    <table class="list">
                      <thead>
                        <tr>
                          <th>Fired</th>
                          <th>Resolved</th>
                          <th>Lasted</th>
                        </tr>
                      </thead>
                      <tbody>
                        {episodes.map((e) => (
                          <tr key={e.id}>
                            <td>
                              <UtcTime iso={e.firedAt} />
                            </td>
                            <td>
                              {e.resolvedAt === null ? "firing" : <UtcTime iso={e.resolvedAt} />}
                            </td>
                            <td>{lasted(e, view.now)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </details>
                </td>
                <td>
                  {a.acknowledgedBy === null ? "" : (
                    <>
                      {`${a.acknowledgedBy} `}
                      <UtcTime iso={a.acknowledgedAt!} />
                    </>
                  )}
                </td>
                {operate
                  ? (
                    <td class="actions">
                      {a.acknowledgedBy === null && a.resolvedAt === null
                        ? <button type="button" data-do="ack">Acknowledge</button>
                        : null}
                      {view.silences === null ? null : (
                        <>
                          <select name="for" aria-label="Silence for">
                            {SILENCE_CHOICES.map((c) => (
                              <option key={c.value} value={c.value}>{c.label}</option>
                            ))}
                          </select>
                          <button type="button" data-do="silence">Silence</button>
                        </>
                      )}
                    </td>
                  )
                  : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {view.silences === null ? null : <Silences silences={view.silences} operate={operate} />}
    </Layout>,
  );
}

function Silences(props: { silences: (Silence & { source?: string })[]; operate: boolean }) {
  return (
    <section class="panel">
      <h2>Silences in force</h2>
      {props.silences.length === 0 ? <p class="empty">None.</p> : (
        <table class="list" id="silences">
          <thead>
            <tr>
              <th>Matches</th>
              <th>Until</th>
              <th>Comment</th>
              <th>By</th>
              {props.operate ? <th></th> : null}
            </tr>
          </thead>
          <tbody>
            {props.silences.map((s) => (
              <tr key={s.id} data-alert="">
                <td>{Object.entries(s.match).map(([k, v]) => `${k}=${v}`).join(", ")}</td>
                <td>
                  <UtcTime iso={s.until} />
                </td>
                <td>{s.comment ?? ""}</td>
                <td>{s.source === "config" ? "config file" : s.createdBy ?? ""}</td>
                {props.operate
                  ? (
                    <td>
                      {s.source === "config"
                        ? null
                        : <button type="button" data-do="unsilence" data-id={s.id}>Remove</button>}
                    </td>
                  )
                  : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * The audit page (`GET /audit`, admins of every site: `access.ts`): the
 * result of checking the trail's hash chain at the top, then its entries
 * newest first, filtered by action, actor and time, with a link to the
 * same entries as CSV (`GET /api/v1/audit?format=csv`).
 *
 * @module
 */
import { Hono } from "hono";
import type { AuditEntry, AuditLog, AuditQuery, AuditVerdict } from "../audit/trail.ts";
import { type CollectorEnv, type SessionUser, signedIn } from "../auth/authenticate.ts";
import { HttpError } from "../http/http_error.ts";
import { queryText } from "../http/request.ts";
import { Layout, renderHtml, UtcTime } from "./layout.tsx";

/** Entries the page shows at most. */
export const AUDIT_PAGE_ENTRIES = 500;

/** The page's filters, as given (times as the form's text, UTC). */
export interface AuditFilter {
  action?: string;
  actor?: string;
  since?: string;
  until?: string;
}

const TONE: Record<string, string> = { ok: "ok", refused: "warn", failed: "bad" };

/** The whole page. */
export function renderAuditPage(
  view: { entries: AuditEntry[]; verdict: AuditVerdict; filter: AuditFilter },
  user: SessionUser,
): string {
  const f = view.filter;
  const csv = new URLSearchParams({ format: "csv" });
  for (const [key, value] of Object.entries(f)) {
    if (value === undefined) continue;
    csv.set(key, key === "since" || key === "until" ? asIso(value) : value);
  }
  const v = view.verdict;
  return renderHtml(
    <Layout title="Audit trail" user={user} current="/audit">
      <link rel="stylesheet" href="/static/pages.css" />
      <div class="page-head">
        <h1>Audit trail</h1>
      </div>
      <p id="verify" class={v.ok ? "verify ok" : "verify bad"}>
        <span class={`badge ${v.ok ? "ok" : "bad"}`}>{v.ok ? "intact" : "broken"}</span>{" "}
        {v.ok
          ? `Verified ${v.entries} entries${
            v.first === null ? "" : ` (seq ${v.first} to ${v.last})`
          }: every hash and link matches.`
          : `Entry ${v.seq}: ${v.problem} (${v.entries} entries checked). Run "scriptmon-collector audit verify" and restore from a backup.`}
      </p>
      <form class="inline" method="get" action="/audit">
        <label>
          Action
          <input name="action" maxlength={100} value={f.action ?? ""} placeholder="signin, …" />
        </label>
        <label>
          Actor
          <input name="actor" maxlength={100} value={f.actor ?? ""} placeholder="user:ann" />
        </label>
        <label>
          <span>
            From <span class="tz">(UTC)</span>
          </span>
          <input type="datetime-local" name="since" value={f.since ?? ""} data-utc="" />
        </label>
        <label>
          <span>
            To <span class="tz">(UTC)</span>
          </span>
          <input type="datetime-local" name="until" value={f.until ?? ""} data-utc="" />
        </label>
        <button type="submit">Show</button>
        <a id="audit-csv" href={`/api/v1/audit?${csv}`}>Download CSV</a>
      </form>
      {view.entries.length === 0
        ? <p class="empty">No entries match.</p>
        : (
          <table class="list" id="audit">
            <thead>
              <tr>
                <th>Seq</th>
                <th>At</th>
                <th>Actor</th>
                <th>From</th>
                <th>Action</th>
                <th>Target</th>
                <th>Result</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {view.entries.map((e) => (
                <tr>
                  <td class="num">{e.seq}</td>
                  <td>
                    <UtcTime iso={e.at} />
                  </td>
                  <td>{e.actor}</td>
                  <td>{e.address ?? ""}</td>
                  <td>{e.action}</td>
                  <td>{e.target}</td>
                  <td>
                    <span class={`badge ${TONE[e.result] ?? ""}`}>{e.result}</span>
                  </td>
                  <td>
                    {Object.entries(e.detail).map(([k, value]) => `${k}=${value}`).join(" ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      {view.entries.length >= AUDIT_PAGE_ENTRIES
        ? (
          <p class="muted">
            Showing the newest {AUDIT_PAGE_ENTRIES}; narrow the filter or download the CSV.
          </p>
        )
        : null}
    </Layout>,
  );
}

/** A form time (`datetime-local` text is UTC) as ISO; the text itself when it does not parse. */
function asIso(text: string): string {
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

/** The audit page's route, to mount at `/`. */
export function auditPageRoutes(deps: { audit: AuditLog }): Hono<CollectorEnv> {
  const app = new Hono<CollectorEnv>();
  app.get("/audit", async (c) => {
    const user = signedIn(c);
    const filter: AuditFilter = {};
    for (const name of ["action", "actor", "since", "until"] as const) {
      const value = queryText(c, name);
      if (value !== undefined) filter[name] = value.slice(0, 100);
    }
    const query: AuditQuery = { limit: AUDIT_PAGE_ENTRIES };
    if (filter.action !== undefined) query.action = filter.action;
    if (filter.actor !== undefined) query.actor = filter.actor;
    for (const name of ["since", "until"] as const) {
      const text = filter[name];
      if (text === undefined) continue;
      const ms = Date.parse(asIso(text));
      if (Number.isNaN(ms)) {
        throw new HttpError(
          400,
          `${name}: expected a time like "2026-12-01T10:00" (UTC), got ${JSON.stringify(text)}`,
        );
      }
      query[name] = ms;
    }
    const [entries, verdict] = await Promise.all([deps.audit.list(query), deps.audit.verify()]);
    return c.html(renderAuditPage({ entries, verdict, filter }, user));
  });
  return app;
}

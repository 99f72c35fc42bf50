/**
 * The export page (`GET /export`): forms that download the events and the
 * uptime report as CSV or as an Excel workbook, from the REST API
 * (`GET /api/v1/events?format=csv|xlsx`, `GET /api/v1/reports/uptime?format=csv|xlsx`),
 * which the session cookie authenticates.
 *
 * @module
 */
import type { SessionUser } from "../auth/authenticate.ts";
import { Layout, renderHtml } from "./layout.tsx";

/** The whole page; `sites` are the ones the user may see. */
export function renderExportPage(input: { user: SessionUser; sites: string[] }): string {
  const siteSelect = (
    <label>
      Site
      <select name="site">
        {input.user.sites === null ? <option value="">All sites</option> : null}
        {input.sites.map((s) => <option key={s} value={s}>{s}</option>)}
      </select>
    </label>
  );
  const formats = (
    <label>
      Format
      <select name="format">
        <option value="xlsx">Excel workbook (.xlsx)</option>
        <option value="csv">CSV</option>
      </select>
    </label>
  );
  return renderHtml(
    <Layout title="Export" user={input.user} current="/export">
      <link rel="stylesheet" href="/static/pages.css" />
      <div class="page-head">
        <h1>Export</h1>
      </div>
      <section class="panel">
        <h2>Events</h2>
        <p>
          Every event the agents reported (state changes, health, resources), newest first, up to
          10,000 rows.
        </p>
        <form class="inline" method="get" action="/api/v1/events" id="export-events">
          {siteSelect}
          <label>
            Host
            <input name="host" maxlength={100} />
          </label>
          <label>
            Kind
            <input name="kind" maxlength={30} placeholder="state, health, …" />
          </label>
          <label>
            From (ISO, UTC)
            <input name="since" placeholder="2026-12-01T00:00:00Z" />
          </label>
          <label>
            To (ISO, UTC)
            <input name="until" placeholder="2026-12-02T00:00:00Z" />
          </label>
          {formats}
          <input type="hidden" name="limit" value="10000" />
          <button type="submit">Download</button>
        </form>
      </section>
      <section class="panel">
        <h2>Uptime report</h2>
        <p>
          Uptime, downtime and restarts of every script over a window (default the last 7 days).
        </p>
        <form class="inline" method="get" action="/api/v1/reports/uptime" id="export-uptime">
          {siteSelect}
          <label>
            From (ISO, UTC)
            <input name="since" placeholder="2026-11-24T00:00:00Z" />
          </label>
          <label>
            To (ISO, UTC)
            <input name="until" placeholder="2026-12-01T00:00:00Z" />
          </label>
          {formats}
          <button type="submit">Download</button>
        </form>
      </section>
    </Layout>,
  );
}

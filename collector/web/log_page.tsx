/**
 * The log viewer (`GET /scripts/<site>/<host>/<script>/log`): a shell
 * that `/static/log_page.js` fills with the last lines of the script's log,
 * fetched from its agent through `GET /api/v1/agents/.../logs`, then
 * follows every 2 s with the cursor while open. The search box filters and
 * highlights within the loaded lines; stdout and stderr are marked.
 *
 * @module
 */
import type { SessionUser } from "../auth/authenticate.ts";
import { Layout, renderHtml, scriptHref } from "./layout.tsx";

/** The line counts the first load offers. */
export const LINE_CHOICES = [100, 200, 500] as const;

/** The path of the logs API for one script. */
export function logsApiPath(site: string, host: string, script: string): string {
  const part = encodeURIComponent;
  return `/api/v1/agents/${part(site)}/${part(host)}/scripts/${part(script)}/logs`;
}

/** The page of one script's log. */
export function renderLogPage(
  input: { site: string; host: string; script: string; online: boolean; user: SessionUser },
): string {
  const { site, host, script } = input;
  return renderHtml(
    <Layout
      title={`Log of ${script} on ${host}`}
      user={input.user}
      scripts={["/static/log_page.js"]}
    >
      <link rel="stylesheet" href="/static/pages.css" />
      <p class="crumbs">
        <a href={`/?site=${encodeURIComponent(site)}`}>{site}</a> / {host} /{" "}
        <a href={scriptHref(site, host, script)}>{script}</a>
      </p>
      <div class="page-head">
        <h1>Log of {script}</h1>
        {input.online ? null : <span class="badge bad">agent offline</span>}
      </div>
      <section id="logview" data-src={logsApiPath(site, host, script)}>
        <form id="logform" class="logbar" role="search">
          <label>
            Lines{" "}
            <select id="loglimit">
              {LINE_CHOICES.map((n) => (
                <option key={n} value={String(n)} selected={n === 200}>{n}</option>
              ))}
            </select>
          </label>
          <button type="button" id="logreload">Load the last lines</button>
          <label>
            <input type="checkbox" id="logfollow" checked /> Follow
          </label>
          <input
            type="search"
            id="logsearch"
            placeholder="Search the loaded lines"
            aria-label="Search"
          />
          <span id="logcount"></span>
        </form>
        <p id="logstatus" aria-live="polite">Asking the agent for the last lines…</p>
        <div id="loglines" role="log"></div>
      </section>
    </Layout>,
  );
}

/**
 * The wall (`GET /wall`): a screen at the FC read from across a room. Per
 * site, one line of counts, then a big tile for each thing that is wrong (a
 * script down, crash-looping, unhealthy or warning; an agent offline);
 * everything fine is only counted. No controls, no session: a read-only
 * wall token (`scriptmon-collector wall-token create`), opened once as
 * `/wall?key=<token>` and kept in a cookie, so the screen never signs out
 * while the token lives; once it is revoked the screen shows a refusal at its next reload.
 * The page reloads itself every {@linkcode WALL_REFRESH_S} seconds.
 *
 * @module
 */
import type { ScriptSummary } from "../../shared/protocol.ts";
import { formatDuration } from "../../shared/config/units.ts";
import { FAVICON_SVG, renderHtml } from "./layout.tsx";
import { toneOf, type WorkstationView } from "./fleet_page.tsx";

/** Seconds between two reloads of the wall. */
export const WALL_REFRESH_S = 10;

/** What the wall shows. */
export interface WallInput {
  /** Only the sites the wall token may see. */
  workstations: WorkstationView[];
  /** The wall token's name, shown small in a corner. */
  name: string;
  now: number;
}

interface Problem {
  host: string;
  what: string;
  state: string;
  reason: string | null;
  tone: "bad" | "warn";
}

function problemsOf(ws: WorkstationView): Problem[] {
  if (!ws.online) {
    return [{ host: ws.host, what: "agent", state: "offline", reason: null, tone: "bad" }];
  }
  return ws.scripts.flatMap((s: ScriptSummary) => {
    const tone = toneOf(s);
    if (tone !== "bad" && tone !== "warn") return [];
    const failing = s.checks.find((check) => check.status === "failing");
    return [{
      host: ws.host,
      what: s.name,
      state: s.health === "unhealthy" && s.state === "running" ? "unhealthy" : s.state,
      reason: failing?.reason ?? s.reason,
      tone,
    }];
  });
}

function Site(props: { site: string; list: WorkstationView[] }) {
  const problems = props.list.flatMap(problemsOf)
    .sort((a, b) => (a.tone === b.tone ? 0 : a.tone === "bad" ? -1 : 1));
  // Scripts switched off in the config are neither running nor a problem: not counted.
  const scripts = props.list.reduce((n, ws) => n + ws.scripts.filter((s) => s.enabled).length, 0);
  const running = props.list.reduce(
    (n, ws) =>
      n + (ws.online ? ws.scripts.filter((s) => s.enabled && s.state === "running").length : 0),
    0,
  );
  return (
    <section class={`wall-site ${problems.length === 0 ? "fine" : "trouble"}`}>
      <h2>
        {props.site}
        <span class="sum">
          {problems.length === 0
            ? `all well · ${running} of ${scripts} scripts running`
            : `${problems.length} problem${
              problems.length === 1 ? "" : "s"
            } · ${running} of ${scripts} scripts running · ${props.list.length} workstation${
              props.list.length === 1 ? "" : "s"
            }`}
        </span>
      </h2>
      {problems.length === 0 ? null : (
        <div class="wall-tiles">
          {problems.map((p) => (
            <div class={`wt ${p.tone}`}>
              <span class="what">{p.what}</span>
              <span class="where">{p.host}</span>
              <span class="state">{p.state}</span>
              {p.reason === null ? null : <span class="why">{p.reason}</span>}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

/** The whole wall page. */
export function renderWallPage(input: WallInput): string {
  const bySite = new Map<string, WorkstationView[]>();
  for (const ws of input.workstations) bySite.set(ws.site, [...bySite.get(ws.site) ?? [], ws]);
  const sites = [...bySite.entries()].sort(([a, la], [b, lb]) =>
    lb.flatMap(problemsOf).length - la.flatMap(problemsOf).length || a.localeCompare(b)
  );
  const time = new Date(input.now).toISOString();
  return renderHtml(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta http-equiv="refresh" content={String(WALL_REFRESH_S)} />
        <title>Wall · scriptmon</title>
        <link
          rel="icon"
          type="image/svg+xml"
          href={`data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}`}
        />
        <link rel="stylesheet" href="/static/app.css" />
      </head>
      <body class="wall">
        <header class="wall-top">
          <span class="brand">scriptmon</span>
          <span>
            {`updated ${time.slice(11, 19)} UTC · every ${
              formatDuration(WALL_REFRESH_S * 1000)
            } · ${input.name}`}
          </span>
        </header>
        <main>
          {sites.length === 0
            ? <p class="empty">No agent has reported yet.</p>
            : sites.map(([site, list]) => <Site key={site} site={site} list={list} />)}
        </main>
      </body>
    </html>,
  );
}

/**
 * The fleet page (`GET /`): the sites with their counts, then each site's
 * workstations and their scripts as status tiles, problems first, filtered
 * by site, state and text (query parameters; `/static/app.js` filters the
 * same way as you type). Live updates replace one workstation block
 * ({@linkcode renderWorkstation}) at a time.
 *
 * Tiles are kept lean (10,000 of them must render in well under 300 ms):
 * one element per fact, classes for colour, data attributes for filtering.
 *
 * @module
 */
import type { ScriptSummary, TokenSummary } from "../../shared/protocol.ts";
import type { SessionUser } from "../auth/authenticate.ts";
import { isDown, stoppedOnPurpose } from "../fleet/views.ts";
import type { RecentHistory } from "../fleet/uptime_cache.ts";
import { Layout, renderHtml } from "./layout.tsx";
import { type AgentConfigRow, agentStanding } from "./config_page.tsx";
import { actionsFor, Tile, Tokens, type Tone, toneOf } from "./fleet_tile.tsx";
import { formatRatio } from "../fleet/uptime.ts";

export { actionsFor, formatRatio, toneOf };

/** One workstation as the page shows it. */
export interface WorkstationView {
  site: string;
  host: string;
  /** Its token's environment (`prod`, `staging`, ...), when it has one. */
  environment?: string;
  os: string;
  version: string;
  online: boolean;
  scripts: ScriptSummary[];
  /** Its tokens (`[tokens.<name>]`) as last reported, never their values. */
  tokens?: TokenSummary[];
}

/** The page's filters (query parameters `site`, `state`, `q`). */
export interface FleetFilter {
  site?: string;
  /** One of {@linkcode STATE_FILTERS}' values. */
  state?: string;
  /** Case-insensitive substring of the script name or host. */
  q?: string;
}

/** The choices of the state filter. */
export const STATE_FILTERS: readonly { value: string; label: string }[] = [
  { value: "", label: "All states" },
  { value: "problems", label: "Problems" },
  { value: "running", label: "Running" },
  { value: "unhealthy", label: "Unhealthy" },
  { value: "crash-looping", label: "Crash-looping" },
  { value: "down", label: "Down" },
  { value: "offline", label: "Agent offline" },
];

const RANK: Record<Tone, number> = { bad: 0, warn: 1, ok: 2, off: 3 };

/** Whether a script is a problem: anything but ok or off, or its agent is offline. */
function isProblem(s: ScriptSummary, online: boolean): boolean {
  const tone = toneOf(s);
  return !online || tone === "bad" || tone === "warn";
}

/** Whether a script passes the state filter. */
export function matchesState(
  s: ScriptSummary,
  online: boolean,
  state: string | undefined,
): boolean {
  switch (state ?? "") {
    case "":
      return true;
    case "problems":
      return isProblem(s, online);
    case "running":
      return s.state === "running";
    case "unhealthy":
      return s.health === "unhealthy";
    case "down":
      return isDown(s);
    case "offline":
      return !online;
    default:
      return s.state === state;
  }
}

function matchesText(ws: WorkstationView, s: ScriptSummary, q: string | undefined): boolean {
  if (q === undefined || q === "") return true;
  const needle = q.toLowerCase();
  return s.name.toLowerCase().includes(needle) || ws.host.toLowerCase().includes(needle);
}

/** Counts of one site, as the site cards show them. */
export interface SiteCounts {
  site: string;
  running: number;
  unhealthy: number;
  crashLooping: number;
  down: number;
  agentsOffline: number;
  agents: number;
  scripts: number;
}

/**
 * A workstation's part of its site's counts: running, unhealthy, crash-looping, down. Its block
 * carries them (`data-n`), so the page keeps the counts by difference without reading tiles.
 */
function countScripts(ws: WorkstationView): [number, number, number, number] {
  const n: [number, number, number, number] = [0, 0, 0, 0];
  for (const s of ws.scripts) {
    if (s.state === "running") n[0]++;
    if (s.health === "unhealthy") n[1]++;
    if (s.state === "crash-looping") n[2]++;
    if (isDown(s)) n[3]++;
  }
  return n;
}

function countSite(site: string, list: WorkstationView[]): SiteCounts {
  const counts: SiteCounts = {
    site,
    running: 0,
    unhealthy: 0,
    crashLooping: 0,
    down: 0,
    agentsOffline: 0,
    agents: list.length,
    scripts: 0,
  };
  for (const ws of list) {
    if (!ws.online) counts.agentsOffline++;
    const [running, unhealthy, crashLooping, down] = countScripts(ws);
    counts.scripts += ws.scripts.length;
    counts.running += running;
    counts.unhealthy += unhealthy;
    counts.crashLooping += crashLooping;
    counts.down += down;
  }
  return counts;
}

function problemScore(counts: SiteCounts): number {
  return counts.crashLooping + counts.down + counts.unhealthy + counts.agentsOffline;
}

/** A script's last 24 hours, when the collector has computed them. */
export type RecentOf = (site: string, host: string, script: string) => RecentHistory | null;

/** Whether a script passes every filter but the site. */
function passes(ws: WorkstationView, s: ScriptSummary, filter: FleetFilter): boolean {
  return matchesState(s, ws.online, filter.state) && matchesText(ws, s, filter.q);
}

/** Off on purpose (switched off in the config, or stopped by a person): folded away. */
function isFolded(s: ScriptSummary): boolean {
  return (!s.enabled && (s.state === "stopped" || s.state === "exited")) || stoppedOnPurpose(s);
}

function Workstation(
  props: {
    ws: WorkstationView;
    filter: FleetFilter;
    control: boolean;
    recent?: RecentOf;
    now: number;
  },
) {
  const { ws, filter } = props;
  const scripts = [...ws.scripts].sort((a, b) =>
    RANK[toneOf(a)] - RANK[toneOf(b)] || a.name.localeCompare(b.name)
  );
  const shown = new Map(scripts.map((s) => [s, passes(ws, s, filter)]));
  const filtered = filter.state !== undefined || filter.q !== undefined;
  const tile = (s: ScriptSummary) => (
    <Tile
      key={s.name}
      ws={ws}
      s={s}
      control={props.control}
      hidden={!shown.get(s)}
      recent={props.recent?.(ws.site, ws.host, s.name) ?? null}
      now={props.now}
    />
  );
  const live = scripts.filter((s) => !isFolded(s));
  const folded = scripts.filter(isFolded);
  return (
    <section
      class="ws"
      data-ws={`${ws.site}/${ws.host}`}
      data-on={ws.online ? "1" : "0"}
      data-n={countScripts(ws).join(" ")}
      hidden={filtered && ![...shown.values()].includes(true)}
    >
      <h3>
        {ws.host}{" "}
        <span class={ws.online ? "on" : "offline"}>
          {ws.online ? "online" : "offline"}
        </span>{" "}
        <small>{`${ws.os} · ${ws.version}`}</small>
      </h3>
      {ws.tokens === undefined || ws.tokens.length === 0
        ? null
        : <Tokens tokens={ws.tokens} now={props.now} />}
      <div class="tiles">{live.map(tile)}</div>
      {folded.length === 0 ? null : (
        <details class="fold">
          <summary>
            {`${folded.length} off: ${
              folded.map((s) => `${s.name} (${s.enabled ? "stopped" : "disabled"})`).join(", ")
            }`}
          </summary>
          <div class="tiles">{folded.map(tile)}</div>
        </details>
      )}
    </section>
  );
}

/** One workstation block, as the live stream sends it (unfiltered: the page filters it). */
export function renderWorkstation(
  ws: WorkstationView,
  options: { control: boolean; recent?: RecentOf; now?: number },
): string {
  return renderHtml(
    <Workstation
      ws={ws}
      filter={{}}
      control={options.control}
      recent={options.recent}
      now={options.now ?? Date.now()}
    />,
  );
}

/** One count: coloured when it is not zero, quiet when it is. */
function Count(props: { name: keyof SiteCounts; value: number; tone: Tone | "" }) {
  return (
    <span class={props.value === 0 || props.tone === "" ? "zero" : props.tone} data-c={props.name}>
      {props.value}
    </span>
  );
}

function Counts(props: { counts: SiteCounts }) {
  const c = props.counts;
  return (
    <span class="counts">
      <Count name="running" value={c.running} tone="ok" /> running{" "}
      <Count name="unhealthy" value={c.unhealthy} tone="bad" /> unhealthy{" "}
      <Count name="crashLooping" value={c.crashLooping} tone="bad" /> crash-looping{" "}
      <Count name="down" value={c.down} tone="bad" /> down{" "}
      <Count name="agentsOffline" value={c.agentsOffline} tone="warn" /> of{" "}
      <span data-c="agents">{c.agents}</span> agents offline
    </span>
  );
}

/** What {@linkcode renderFleetPage} shows. */
export interface FleetPageInput {
  /** Only the sites the user may see. */
  workstations: WorkstationView[];
  user: SessionUser;
  filter: FleetFilter;
  /** Each script's last 24 hours (uptime, restarts, strip) when computed. */
  recent?: RecentOf;
  /** The collector's clock (ms), for the tokens' time left; default now. */
  now?: number;
  /** Workstations (of the user's sites) not on the central config version their rollout says. */
  configBehind?: AgentConfigRow[];
}

/** How many workstations the notice of config versions names. */
const BEHIND_NAMED = 5;

/** The notice of workstations not on their central config version; null when there is none. */
function ConfigBehind(props: { rows: AgentConfigRow[]; admin: boolean }) {
  const { rows } = props;
  if (rows.length === 0) return null;
  const refused = rows.filter((r) => agentStanding(r) === "refused").length;
  const named = rows.slice(0, BEHIND_NAMED).map((r) =>
    `${r.site}/${r.host} (${
      r.applied?.version == null ? "no version" : `v${r.applied.version}`
    }, should run v${r.desired})`
  );
  return (
    <p class="notice" id="config-behind">
      {`${rows.length} ${
        rows.length === 1 ? "workstation is not on its" : "workstations are not on their"
      } config ` +
        `version${refused === 0 ? "" : ` (${refused} refused it)`}: ${named.join(", ")}` +
        `${rows.length > BEHIND_NAMED ? `, and ${rows.length - BEHIND_NAMED} more` : ""}.`}{" "}
      {props.admin ? <a href="/config">Central config</a> : null}
    </p>
  );
}

/** The whole fleet page: every workstation of the user's sites, the filter's misses hidden. */
export function renderFleetPage(input: FleetPageInput): string {
  const { user, filter } = input;
  const control = user.role === "operator" || user.role === "admin";
  const bySite = new Map<string, WorkstationView[]>();
  for (const ws of input.workstations) {
    const list = bySite.get(ws.site) ?? [];
    list.push(ws);
    bySite.set(ws.site, list);
  }
  const sites = [...bySite.entries()].map(([site, list]) => ({
    site,
    list: list.map((ws) => ({
      ws,
      bad: ws.scripts.filter((s) => isProblem(s, ws.online)).length,
    })).sort((a, b) =>
      Number(a.ws.online) - Number(b.ws.online) || b.bad - a.bad ||
      a.ws.host.localeCompare(b.ws.host)
    ).map((b) => b.ws),
    counts: countSite(site, list),
  })).sort((a, b) =>
    problemScore(b.counts) - problemScore(a.counts) || a.site.localeCompare(b.site)
  );
  const matches = sites.some(({ site, list }) =>
    (filter.site === undefined || site === filter.site) &&
    list.some((ws) => ws.scripts.some((s) => passes(ws, s, filter)))
  );
  return renderHtml(
    <Layout title="Fleet" user={user} current="/">
      <form class="filters" method="get" action="/" id="filters">
        <label>
          Site{" "}
          <select name="site">
            <option value="">All sites</option>
            {[...bySite.keys()].sort().map((site) => (
              <option value={site} selected={site === filter.site}>{site}</option>
            ))}
          </select>
        </label>
        <label>
          State{" "}
          <select name="state">
            {STATE_FILTERS.map((f) => (
              <option value={f.value} selected={f.value === (filter.state ?? "")}>{f.label}</option>
            ))}
          </select>
        </label>
        <label>
          Search{" "}
          <input type="search" name="q" value={filter.q ?? ""} placeholder="script or host" />
        </label>
        <button type="submit">Filter</button>
        <span id="live" class="live">not live</span>
      </form>
      <ConfigBehind
        rows={input.configBehind ?? []}
        admin={user.role === "admin" && user.sites === null}
      />
      {input.recent === undefined ? null : (
        <p class="legend">
          On each tile, the last 24 hours: uptime over the time its state was known, and a strip of
          an hour a slot (<b class="u"></b> up, <b class="d"></b> down, <b class="i"></b> stopped,
          {" "}
          <b class="n"></b> unknown).
        </p>
      )}
      <ul class="sites">
        {sites.map(({ site, counts }) => (
          <li data-site={site}>
            <a href={`/?site=${encodeURIComponent(site)}`}>{site}</a> <Counts counts={counts} />
          </li>
        ))}
      </ul>
      <div id="fleet" data-live="/live/fleet" data-now={input.now ?? Date.now()}>
        {sites.length === 0
          ? <p class="empty">No agent has reported yet.</p>
          : (
            <p class="empty" id="nomatch" hidden={matches}>
              Nothing matches the filter.
            </p>
          )}
        {sites.map(({ site, list }) => (
          <section
            class="site"
            data-site={site}
            hidden={filter.site !== undefined && filter.site !== site}
          >
            <h2>
              {site}
              {list[0]?.environment === undefined
                ? null
                : <span class="env">{list[0].environment}</span>}
            </h2>
            {list.map((ws) => (
              <Workstation
                key={ws.host}
                ws={ws}
                filter={filter}
                control={control}
                recent={input.recent}
                now={input.now ?? Date.now()}
              />
            ))}
          </section>
        ))}
      </div>
    </Layout>,
  );
}

/**
 * The agent's status page for the person at the workstation: one
 * self-contained HTML document (inline CSS and script, no other host), live
 * through a small script that fetches `/?fragment=1` every 2 s and swaps in
 * the HTML of `renderStatusFragment()`.
 *
 * Every text that comes from config or scripts (names, reasons, log lines,
 * the config error) is a JSX text child or attribute, which hono/jsx escapes;
 * only the page's own constant CSS and script are inserted raw.
 *
 * @module
 */
import type { Child } from "hono/jsx";
import type { AgentInfo, StatusBody } from "./status.ts";
import type { CheckState, ScriptHealth } from "../health/types.ts";
import type { ScriptState, ScriptStatus } from "../supervise/state.ts";
import { formatBytes, formatDuration } from "../../shared/config/units.ts";
import type { TokenState, TokenStatus } from "../tokens/types.ts";

/** Options of `renderStatusFragment`. */
export interface StatusFragmentOptions {
  /** Epoch milliseconds ages are measured against; defaults to `Date.now()`. */
  now?: number;
}

/** Options of `renderStatusPage`. */
export interface StatusPageOptions extends StatusFragmentOptions {
  /** The CSP nonce of this response, put on the page's `<style>` and `<script>`. */
  nonce: string;
}

/** Where the page's script fetches the fresh fragment (same origin). */
export const STATUS_FRAGMENT_PATH = "/?fragment=1";

/** How often the page refreshes, in milliseconds. */
export const STATUS_REFRESH_MS = 2_000;

/** The colour family of each state: the page's tone classes. */
const STATE_TONE: Readonly<Record<ScriptState, "ok" | "warn" | "bad" | "off">> = {
  running: "ok",
  starting: "warn",
  backoff: "warn",
  stopping: "warn",
  "crash-looping": "bad",
  failed: "bad",
  stopped: "off",
  exited: "off",
  scheduled: "off",
  "waiting-for-token": "warn",
};

const TOKEN_TONE: Readonly<Record<TokenState, "ok" | "warn" | "bad" | "off">> = {
  valid: "ok",
  expiring: "warn",
  unknown: "off",
  invalid: "bad",
  expired: "bad",
};

const HEALTH_TONE: Readonly<Record<ScriptHealth, "ok" | "warn" | "bad" | "off">> = {
  healthy: "ok",
  warning: "warn",
  unhealthy: "bad",
  unknown: "off",
};

const CHECK_TONE: Readonly<Record<CheckState["status"], "ok" | "warn" | "bad" | "off">> = {
  ok: "ok",
  warning: "warn",
  failing: "bad",
  unknown: "off",
};

const NONCE = /^[A-Za-z0-9+/_=-]+$/;

/**
 * Renders the whole status page.
 *
 * @throws {RangeError} when `options.nonce` is empty or not base64-like.
 */
export function renderStatusPage(status: StatusBody, options: StatusPageOptions): string {
  if (!NONCE.test(options.nonce)) {
    throw new RangeError(`Expected a base64 CSP nonce, got ${JSON.stringify(options.nonce)}`);
  }
  const title = `scriptmon · ${status.agent.site} · ${status.agent.host}`;
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{title}</title>
        <style nonce={options.nonce} dangerouslySetInnerHTML={{ __html: PAGE_CSS }} />
      </head>
      <body>
        <header>
          <h1>scriptmon</h1>
          <p id="stale" class="stale" hidden></p>
        </header>
        <main id="live" data-fragment={STATUS_FRAGMENT_PATH}>
          <LiveContent status={status} now={options.now ?? Date.now()} />
        </main>
        <script nonce={options.nonce} dangerouslySetInnerHTML={{ __html: PAGE_SCRIPT }} />
      </body>
    </html>
  );
  return `<!DOCTYPE html>${toHtml(page)}`;
}

/** Renders what the page refreshes: the agent line and one tile per script. */
export function renderStatusFragment(
  status: StatusBody,
  options: StatusFragmentOptions = {},
): string {
  return toHtml(<LiveContent status={status} now={options.now ?? Date.now()} />);
}

function toHtml(node: unknown): string {
  const html = String(node);
  if (html === "[object Promise]") throw new TypeError("Status page rendered asynchronously");
  return html;
}

function LiveContent(props: { status: StatusBody; now: number }) {
  const { agent, scripts } = props.status;
  const tokens = props.status.tokens ?? [];
  return (
    <>
      <AgentLine agent={agent} now={props.now} />
      {tokens.length === 0 ? null : (
        <section class="scripts tokens">
          {tokens.map((token) => <TokenTile key={token.name} token={token} />)}
        </section>
      )}
      {scripts.length === 0
        ? <p class="empty">No scripts are configured.</p>
        : (
          <section class="scripts">
            {byConcern(scripts).map((script) => (
              <ScriptTile key={script.name} script={script} now={props.now} />
            ))}
          </section>
        )}
    </>
  );
}

const CONCERN = { bad: 0, warn: 1, ok: 2, off: 3 } as const;

/** Problems first, then what runs, then what is off; scripts switched off in the config last. */
function byConcern(scripts: readonly ScriptStatus[]): ScriptStatus[] {
  const rank = (s: ScriptStatus) => s.enabled === false ? 4 : CONCERN[STATE_TONE[s.state]];
  return [...scripts].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

function AgentLine(props: { agent: AgentInfo; now: number }) {
  const { agent, now } = props;
  const checks = agent.checks.filter((check) => check.status !== "ok");
  return (
    <section class="agent">
      <p class="facts">
        <span>agent {agent.version}</span>
        <span>site {agent.site}</span>
        <span>host {agent.host}</span>
        <span>pid {agent.pid}</span>
        {agent.envName === null ? null : <span>env {agent.envName}</span>}
        <span>
          config <code>{agent.configPath}</code>
        </span>
        <span>up {age(agent.startedAt, now)}</span>
        {agent.resources === null
          ? null
          : <span>memory {formatBytes(agent.resources.rssBytes)}</span>}
      </p>
      {agent.configError === null ? null : (
        <div class="banner" role="alert">
          <strong>Config reload failed {age(agent.configError.at, now)} ago</strong>; the previous
          config keeps running.
          <pre>{agent.configError.message}</pre>
        </div>
      )}
      {checks.length === 0 ? null : <Checks checks={checks} />}
    </section>
  );
}

function ScriptTile(props: { script: ScriptStatus; now: number }) {
  const { script, now } = props;
  const cpu = script.resources?.cpuPercent ?? null;
  return (
    <article class={`tile tone-${STATE_TONE[script.state]}`}>
      <h2>
        <span class="name">{script.name}</span>
        <span class={`badge state state-${script.state} tone-${STATE_TONE[script.state]}`}>
          {script.state}
        </span>
        {script.checks.length === 0 || script.health === "unknown"
          ? null // no checks, or none has a result yet (a script that does not run)
          : (
            <span class={`badge health health-${script.health} tone-${HEALTH_TONE[script.health]}`}>
              {script.health}
            </span>
          )}
      </h2>
      <dl>
        <Fact label="pid">{script.pid ?? "–"}{script.adopted ? " (adopted)" : ""}</Fact>
        <Fact label="uptime">
          {script.uptimeMs === null ? "–" : formatDuration(script.uptimeMs)}
        </Fact>
        <Fact label="restarts">{script.restarts}</Fact>
        <Fact label="memory">
          {script.resources === null ? "–" : formatBytes(script.resources.rssBytes)}
        </Fact>
        <Fact label="CPU">{cpu === null ? "–" : `${cpu.toFixed(1)} %`}</Fact>
        {script.heartbeat === null ? null : (
          <Fact label="last ping">
            {script.heartbeat.lastPingAt === null
              ? "never"
              : `${age(script.heartbeat.lastPingAt, now)} ago`}
          </Fact>
        )}
        {script.nextStartAt === null
          ? null
          : (
            <Fact label={script.schedule === null ? "next start" : "next run"}>
              in {age(now, Date.parse(script.nextStartAt))}
            </Fact>
          )}
        {script.lastExit === null
          ? (script.schedule === null ? null : <Fact label="last exit">never ran</Fact>)
          : (
            <Fact label="last exit">
              {script.lastExit.signal ?? `code ${script.lastExit.code}`},{" "}
              {age(script.lastExit.at, now)} ago
            </Fact>
          )}
      </dl>
      {script.reason === null ? null : <p class="reason">{script.reason}</p>}
      {script.checks.length === 0 ? null : <Checks checks={script.checks} />}
      {script.lastLines.length === 0 ? null : (
        <pre class="log">
          {script.lastLines.map((entry, i) => <LogLine key={i} {...entry} />)}
        </pre>
      )}
    </article>
  );
}

function TokenTile(props: { token: TokenStatus }) {
  const { token } = props;
  const tone = TOKEN_TONE[token.state];
  const left = token.secondsLeft;
  return (
    <article class={`tile token tone-${tone}`}>
      <h2>
        <span class="name">token {token.name}</span>
        <span class={`badge state token-${token.state} tone-${tone}`}>{token.state}</span>
      </h2>
      <dl>
        <Fact label={left !== null && left < 0 ? "expired" : "expires"}>
          {left === null
            ? "unknown"
            : left < 0
            ? `${formatDuration(-left * 1000)} ago`
            : `in ${formatDuration(left * 1000)}`}
          {token.predicted ? ` (predicted, confidence ${token.confidence})` : ""}
        </Fact>
        <Fact label="used by">{token.usedBy.join(", ") || "–"}</Fact>
        {token.validationOk === null
          ? null
          : <Fact label="validation">{token.validationOk ? "passed" : "failed"}</Fact>}
        {token.refresh === null || token.refresh.failures === 0
          ? null
          : <Fact label="refresh">{token.refresh.failures} failure(s) in a row</Fact>}
      </dl>
      <p class="reason">{token.reason}</p>
    </article>
  );
}

function Fact(props: { label: string; children?: Child }) {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

function Checks(props: { checks: CheckState[] }) {
  return (
    <ul class="checks">
      {props.checks.map((check) => <CheckItem key={check.name} check={check} />)}
    </ul>
  );
}

function LogLine(props: { stream: "out" | "err"; line: string }) {
  return (
    <span class={`line ${props.stream}`}>
      <span class="stream">{props.stream === "err" ? "err" : "   "}</span>
      {props.line}
    </span>
  );
}

function CheckItem(props: { check: CheckState }) {
  const { check } = props;
  return (
    <li class={`check check-${check.status} tone-${CHECK_TONE[check.status]}`}>
      <span class="badge">{check.status}</span> <span class="check-name">{check.name}</span>
      {check.reason === "" ? null : <span class="check-reason">{check.reason}</span>}
      {check.intervalMs === undefined
        ? null
        : <span class="check-every">every {formatDuration(check.intervalMs)}</span>}
    </li>
  );
}

/** The time from `from` to `to` for people; either may be an ISO string or epoch ms. */
function age(from: string | number, to: string | number): string {
  const start = typeof from === "string" ? Date.parse(from) : from;
  const end = typeof to === "string" ? Date.parse(to) : to;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return "?";
  return formatDuration(Math.max(0, end - start));
}

const PAGE_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1d2330; --muted: #5d6675; --card: #fff;
  --line: #d9dde4; --ok: #17803d; --warn: #b25e00; --bad: #c0262d; --off: #6b7280;
  --log: #f0f2f5; --err: #a3161c; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #12151b; --fg: #e4e7ec; --muted: #9aa3b2; --card: #1b2029; --line: #2e3542;
    --ok: #4ccf7a; --warn: #f0a43a; --bad: #ff6b6b; --off: #9ca3af; --log: #11141a; --err: #ff8a8a; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 0.75rem; background: var(--bg); color: var(--fg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.2rem; margin: 0 0 0.5rem; }
.stale { margin: 0; color: var(--warn); }
.facts { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; margin: 0 0 0.5rem; color: var(--muted); }
code, pre { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: 12px; }
.banner { border: 2px solid var(--bad); border-radius: 6px; padding: 0.5rem 0.75rem;
  margin-bottom: 0.75rem; background: var(--card); }
.banner pre { white-space: pre-wrap; margin: 0.4rem 0 0; }
.scripts { display: grid; gap: 0.75rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }
.tile { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--c);
  border-radius: 6px; padding: 0.5rem 0.75rem; min-width: 0; }
.tone-ok { --c: var(--ok); } .tone-warn { --c: var(--warn); }
.tone-bad { --c: var(--bad); } .tone-off { --c: var(--off); }
h2 { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem; font-size: 1rem; margin: 0 0 0.4rem; }
.name { overflow-wrap: anywhere; margin-right: auto; }
.badge { color: var(--c); border: 1px solid var(--c); border-radius: 999px; padding: 0 0.5rem;
  font-size: 12px; font-weight: 600; white-space: nowrap; }
dl { display: grid; grid-template-columns: repeat(auto-fill, minmax(7rem, 1fr)); gap: 0.2rem 0.75rem; margin: 0; }
dt { color: var(--muted); font-size: 12px; } dd { margin: 0; overflow-wrap: anywhere; }
.reason { margin: 0.4rem 0 0; color: var(--muted); overflow-wrap: anywhere; }
.checks { list-style: none; padding: 0; margin: 0.5rem 0 0; }
.checks li { margin: 0.15rem 0; overflow-wrap: anywhere; }
.check-name { font-weight: 600; } .check-reason { color: var(--muted); margin-left: 0.4rem; }
.check-every { color: var(--muted); margin-left: 0.4rem; font-size: 0.85em; }
.log { background: var(--log); border-radius: 4px; padding: 0.4rem; margin: 0.5rem 0 0;
  max-height: 12rem; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.line { display: block; }
.line .stream { color: var(--muted); user-select: none; margin-right: 0.5rem; }
.line.err { color: var(--err); } .line.err .stream { color: var(--err); font-weight: 700; }
.empty { color: var(--muted); }
`;

const PAGE_SCRIPT = `
(() => {
  const box = document.getElementById("live");
  const stale = document.getElementById("stale");
  const refresh = async () => {
    if (!document.hidden) {
      try {
        const response = await fetch(box.dataset.fragment, { cache: "no-store" });
        if (!response.ok) throw new Error("HTTP " + response.status);
        box.innerHTML = await response.text();
        stale.hidden = true;
      } catch (error) {
        stale.textContent = "Agent not reachable (" + error.message + "); showing the last state.";
        stale.hidden = false;
      }
    }
    setTimeout(refresh, ${STATUS_REFRESH_MS});
  };
  setTimeout(refresh, ${STATUS_REFRESH_MS});
})();
`;

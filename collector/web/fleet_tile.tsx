/**
 * One script's tile and a workstation's tokens, as the fleet page and its live stream draw
 * them. Times that run on (a script's uptime, a token's time left) carry their start or end
 * (`data-since`, `data-until`): the page counts them on itself, so the live stream sends a
 * workstation only when something changed (`live.ts`).
 *
 * @module
 */
import type { Child } from "hono/jsx";
import type { ScriptSummary, TokenSummary } from "../../shared/protocol.ts";
import { formatBytes, formatDuration } from "../../shared/config/units.ts";
import { isDown } from "../fleet/views.ts";
import { type ControlAction, ControlButtons } from "./controls.tsx";
import type { RecentHistory } from "../fleet/uptime_cache.ts";
import { formatRatio } from "../fleet/uptime.ts";
import { scriptHref } from "./layout.tsx";

/** The colour families of the tiles. */
export type Tone = "bad" | "warn" | "ok" | "off";
const WARN_STATES = new Set(["starting", "backoff", "stopping"]);

/** The colour family of a script: bad (crash-looping, failed, down, unhealthy), warn, ok, off. */
export function toneOf(s: ScriptSummary): Tone {
  if (s.state === "crash-looping" || s.state === "failed" || s.health === "unhealthy") return "bad";
  if (isDown(s) && s.state !== "backoff") return "bad";
  if (WARN_STATES.has(s.state) || s.health === "warning") return "warn";
  if (s.state === "running") return "ok";
  return "off";
}

/** The commands that make sense in a state: nothing starts what runs, nothing stops what is off. */
export function actionsFor(s: ScriptSummary): ControlAction[] {
  switch (s.state) {
    case "running":
    case "starting":
    case "backoff":
    case "crash-looping":
    case "failed":
    case "waiting-for-token":
      return ["restart", "stop"];
    case "stopping":
      return [];
    default: // stopped, exited, scheduled
      return ["start"];
  }
}

const STRIP_CLASS: Record<string, string> = { u: "u", d: "d", i: "i", n: "n" };

/** The 24-hour strip as runs of one class each (a steady day is one element). */
function Strip(props: { strip: string }) {
  const runs: [string, number][] = [];
  for (const letter of props.strip) {
    const last = runs.at(-1);
    if (last !== undefined && last[0] === letter) last[1]++;
    else runs.push([letter, 1]);
  }
  return (
    <span class="strip">
      {
        // A key would be rendered as an attribute on a plain element: these need none.
        // deno-lint-ignore jsx-key
        runs.map(([letter, n]) => <b class={`${STRIP_CLASS[letter] ?? "n"} w${n}`}></b>)
      }
    </span>
  );
}

/** `items` with " · " between them. */
function dotted(items: Child[]): Child[] {
  return items.flatMap((item, i) => i === 0 ? [item] : [" · ", item]);
}

/** One script's tile. `now` is the collector's clock (ms), where its uptime counts from. */
export function Tile(
  props: {
    ws: { site: string; host: string; online: boolean };
    s: ScriptSummary;
    control: boolean;
    hidden: boolean;
    recent: RecentHistory | null;
    now: number;
  },
) {
  const { ws, s, recent } = props;
  const tone = toneOf(s);
  const restarts = recent?.restarts ?? 0;
  const facts = [
    recent !== null
      ? (restarts > 0 ? `${restarts} restart${restarts === 1 ? "" : "s"} in 24 h` : null)
      : (s.restarts > 0 ? `↻${s.restarts}` : null), // the agent's count, until the day is known
    // An agent's numbers are its own: a negative one is not shown (nor does it break the page).
    // It counts on in the page only while the agent reports (an offline agent's last word stays).
    s.state === "running" && s.uptimeMs !== null && s.uptimeMs >= 0
      ? (ws.online
        ? <span data-since={props.now - s.uptimeMs}>{`up ${formatDuration(s.uptimeMs)}`}</span>
        : `up ${formatDuration(s.uptimeMs)}`)
      : null,
    s.rssBytes !== null ? formatBytes(s.rssBytes) : null,
    s.singleton?.here
      ? `runs here for the ${s.singleton.scope}` +
        (s.singleton.scope === "machine" && s.singleton.holder ? ` (${s.singleton.holder})` : "")
      : null,
  ].filter((f) => f !== null);
  const failing = s.checks.find((check) => check.status === "failing");
  const reason = failing?.reason ?? (tone === "ok" ? null : s.reason);
  const actions = props.control ? actionsFor(s) : [];
  return (
    <div
      class={`t ${tone}`}
      data-k={`${ws.site}/${ws.host}/${s.name}`}
      data-st={s.state}
      data-h={s.health}
      data-d={isDown(s) ? "1" : undefined}
      hidden={props.hidden}
    >
      <span class="hd">
        <a href={scriptHref(ws.site, ws.host, s.name)}>{s.name}</a>
        {recent?.ratio === null || recent === null ? null : (
          <span class="pc">
            {formatRatio(recent.ratio)}
          </span>
        )}
      </span>
      <span class="st">
        {s.health === "unknown" || s.health === undefined ? s.state : `${s.state} · ${s.health}`}
      </span>
      {recent === null ? null : <Strip strip={recent.strip} />}
      {facts.length === 0 ? null : <span class="f">{dotted(facts)}</span>}
      {reason === null || reason === undefined || reason === ""
        ? null
        : <span class="r" title={reason}>{reason}</span>}
      {actions.length === 0 ? null : <ControlButtons actions={actions} />}
    </div>
  );
}

const TOKEN_TONE: Record<string, Tone> = {
  valid: "ok",
  expiring: "warn",
  expired: "bad",
  invalid: "bad",
};

/** A token's time left as the tile says it (the page's script says it the same way). */
function timeLeft(ms: number, predicted: boolean): string {
  return ms > 0
    ? `${formatDuration(ms)} left${predicted ? " (predicted)" : ""}`
    : `expired ${formatDuration(-ms)} ago`;
}

/** A workstation's tokens: state and time left (from the stated or predicted expiry). */
export function Tokens(props: { tokens: TokenSummary[]; now: number }) {
  return (
    <div class="tokens">
      {props.tokens.map((t) => {
        const until = t.expiresAt === null ? null : Date.parse(t.expiresAt);
        return (
          <span
            class={`tk ${TOKEN_TONE[t.state] ?? "off"}`}
            title={`used by ${t.usedBy.join(", ")}`}
          >
            {`token ${t.name}: ${t.state}`}
            {until === null ? null : (
              <>
                {" · "}
                <span data-until={until} data-predicted={t.predicted ? "1" : undefined}>
                  {timeLeft(until - props.now, t.predicted)}
                </span>
              </>
            )}
          </span>
        );
      })}
    </div>
  );
}

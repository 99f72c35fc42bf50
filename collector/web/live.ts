/**
 * The fleet's live changes for the page's SSE stream (`GET /live/fleet`).
 * The ingest path calls {@linkcode FleetLive.reported} after every stored
 * heartbeat; it passes a workstation on to the subscribers only when
 * something a tile shows changed (a script's state, health, restarts, pid,
 * reason or checks; its memory by a tenth or more since it was last sent; the
 * agent online or not; scripts added or removed; its last 24 hours as the
 * tiles show them, once the collector recomputed them). An unchanged workstation is
 * never sent again: a quiet fleet sends nothing, and a burst sends only the
 * workstations in it. Uptimes count on in the page itself (`data-since`).
 *
 * Subscribers are bounded ({@linkcode FleetLive.subscribe} returns null when
 * full) and each sees only its sites. While anyone is subscribed, a
 * once-a-second sweep sends a workstation silent for `offlineAfterMs` as
 * offline (the store marks it so on its own timer; this is the page's view
 * of the same rule), and {@linkcode FleetLive.offline} does it at once.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { RecentOf, WorkstationView } from "./fleet_page.tsx";
import { formatRatio } from "../fleet/uptime.ts";

/** Default bound of concurrent subscribers (SSE clients). */
export const MAX_LIVE_CLIENTS = 200;

/** A subscriber's callback. */
export type LiveListener = (ws: WorkstationView) => void;

function signature(ws: WorkstationView, recent: RecentOf | undefined): string {
  return JSON.stringify([
    ws.online,
    ws.os,
    ws.version,
    ws.scripts.map((s) => [
      s.name,
      s.state,
      s.health,
      s.enabled,
      s.restarts,
      s.pid,
      s.reason,
      s.checks.map((c) => [c.name, c.status, c.reason]),
      s.singleton?.here ?? null,
      s.singleton?.holder ?? null,
    ]),
    // A token's state, not its seconds left: those change on every heartbeat.
    (ws.tokens ?? []).map((t) => [t.name, t.state, t.expiresAt]),
    // The last 24 hours as the tiles show them (the collector recomputes them every 30 s).
    recent === undefined ? null : ws.scripts.map((s) => {
      const day = recent(ws.site, ws.host, s.name);
      return day === null
        ? null
        : [day.ratio === null ? null : formatRatio(day.ratio), day.restarts, day.strip];
    }),
  ]);
}

/** A script's memory is sent again once it moved this fraction from what was last sent. */
const MEMORY_STEP = 0.1;

/** Whether a script's memory in `now` moved a step from what `sent` showed. */
function memoryMoved(sent: WorkstationView, now: WorkstationView): boolean {
  const before = new Map(sent.scripts.map((s) => [s.name, s.rssBytes]));
  return now.scripts.some((s) => {
    const was = before.get(s.name) ?? null;
    if (was === null || s.rssBytes === null) return was !== s.rssBytes;
    return Math.abs(s.rssBytes - was) >= MEMORY_STEP * Math.max(was, 1);
  });
}

/** How often the offline sweep runs while anyone is subscribed. */
const SWEEP_EVERY_MS = 1000;

/** The broadcaster of workstation changes. */
export class FleetLive {
  /**
   * Each workstation's last report (with its signature, null when reported with nobody
   * subscribed), what was last sent of it, and when it was last online.
   */
  #last = new Map<
    string,
    { signature: string | null; ws: WorkstationView; sent: WorkstationView; at: number }
  >();
  #subscribers = new Set<{ sites: readonly string[] | null; listener: LiveListener }>();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #clock: Clock;
  #offlineAfterMs: number;
  #recent: RecentOf | undefined;
  readonly maxClients: number;

  /**
   * `maxClients` bounds {@linkcode subscribe}; `offlineAfterMs` (default
   * never) is the collector's `offline_after`; `recent` each script's last 24 hours (the
   * tiles' uptime, restarts and strip), when the collector computes them.
   */
  constructor(
    options: { maxClients?: number; offlineAfterMs?: number; clock?: Clock; recent?: RecentOf } =
      {},
  ) {
    this.#recent = options.recent;
    this.maxClients = options.maxClients ?? MAX_LIVE_CLIENTS;
    this.#offlineAfterMs = options.offlineAfterMs ?? Infinity;
    this.#clock = options.clock ?? { now: () => Date.now() };
  }

  /** How many subscribers are connected. */
  get clients(): number {
    return this.#subscribers.size;
  }

  /**
   * A workstation reported (after its ingest was stored); passes it on if a tile changed. With
   * nobody subscribed it is only remembered (a signature per ingest was 5 % of a busy
   * collector's time, bench/README.md): the first report after someone subscribes compares
   * against it.
   */
  reported(ws: WorkstationView): void {
    const key = `${ws.site}/${ws.host}`;
    const last = this.#last.get(key);
    const at = ws.online ? this.#clock.now() : last?.at ?? 0;
    if (this.#subscribers.size === 0) {
      this.#last.set(key, { signature: null, ws, sent: ws, at });
      return;
    }
    const sig = signature(ws, this.#recent);
    const due = last === undefined ||
      (last.signature ?? signature(last.ws, this.#recent)) !== sig ||
      memoryMoved(last.sent, ws);
    this.#last.set(key, { signature: sig, ws, sent: due ? ws : last.sent, at });
    if (!due) return;
    this.#publish(ws);
  }

  /** Agents were marked offline: their last known workstation goes out with `online: false`. */
  offline(agents: readonly { site: string; host: string }[]): void {
    for (const agent of agents) {
      const last = this.#last.get(`${agent.site}/${agent.host}`);
      if (last === undefined || !last.ws.online) continue;
      this.reported({ ...last.ws, online: false });
    }
  }

  /**
   * Calls `listener` with every change of the given sites (null: all)
   * until the returned function is called; null when `maxClients` are
   * already subscribed.
   */
  subscribe(sites: readonly string[] | null, listener: LiveListener): (() => void) | null {
    if (this.#subscribers.size >= this.maxClients) return null;
    const subscriber = { sites, listener };
    this.#subscribers.add(subscriber);
    if (this.#sweep === undefined && Number.isFinite(this.#offlineAfterMs)) {
      this.#sweep = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    }
    return () => {
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0 && this.#sweep !== undefined) {
        clearInterval(this.#sweep);
        this.#sweep = undefined;
      }
    };
  }

  /** Sends every online workstation not heard from for `offlineAfterMs` as offline. */
  sweep(): void {
    const cutoff = this.#clock.now() - this.#offlineAfterMs;
    const silent = [...this.#last.values()].filter((l) => l.ws.online && l.at < cutoff);
    this.offline(silent.map((l) => l.ws));
  }

  #publish(ws: WorkstationView): void {
    for (const { sites, listener } of this.#subscribers) {
      if (sites === null || sites.includes(ws.site)) listener(ws);
    }
  }
}

/**
 * The fleet's live changes for the page's SSE stream (`GET /live/fleet`).
 * The ingest path calls {@linkcode FleetLive.reported} after every stored
 * heartbeat; it passes a workstation on to the subscribers only when
 * something a tile shows as a state changed (a script's state, health,
 * restarts, pid, reason or checks; the agent online or not; scripts added
 * or removed), or when it was last sent `refreshMs` ago (so uptime and memory
 * on a page left open stay within a minute), so a quiet fleet sends little.
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
import type { WorkstationView } from "./fleet_page.tsx";

/** Default bound of concurrent subscribers (SSE clients). */
export const MAX_LIVE_CLIENTS = 200;

/** A subscriber's callback. */
export type LiveListener = (ws: WorkstationView) => void;

function signature(ws: WorkstationView): string {
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
  ]);
}

/** How often the offline sweep runs while anyone is subscribed. */
const SWEEP_EVERY_MS = 1000;

/** The broadcaster of workstation changes. */
export class FleetLive {
  #last = new Map<
    string,
    { signature: string; ws: WorkstationView; at: number; sentAt: number }
  >();
  #subscribers = new Set<{ sites: readonly string[] | null; listener: LiveListener }>();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #clock: Clock;
  #offlineAfterMs: number;
  #refreshMs: number;
  readonly maxClients: number;

  /**
   * `maxClients` bounds {@linkcode subscribe}; `offlineAfterMs` (default
   * never) is the collector's `offline_after`; `refreshMs` (default 60 s)
   * how stale a workstation's uptime and memory may get on the page.
   */
  constructor(
    options: { maxClients?: number; offlineAfterMs?: number; refreshMs?: number; clock?: Clock } =
      {},
  ) {
    this.#refreshMs = options.refreshMs ?? 60_000;
    this.maxClients = options.maxClients ?? MAX_LIVE_CLIENTS;
    this.#offlineAfterMs = options.offlineAfterMs ?? Infinity;
    this.#clock = options.clock ?? { now: () => Date.now() };
  }

  /** How many subscribers are connected. */
  get clients(): number {
    return this.#subscribers.size;
  }

  /** A workstation reported (after its ingest was stored); passes it on if a tile changed. */
  reported(ws: WorkstationView): void {
    const key = `${ws.site}/${ws.host}`;
    const sig = signature(ws);
    const last = this.#last.get(key);
    const now = this.#clock.now();
    const due = last === undefined || last.signature !== sig ||
      now - last.sentAt >= this.#refreshMs;
    this.#last.set(key, {
      signature: sig,
      ws,
      at: ws.online ? now : last?.at ?? 0,
      sentAt: due ? now : last.sentAt,
    });
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

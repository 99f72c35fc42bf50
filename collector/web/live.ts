/**
 * The fleet's live changes for the page's SSE stream (`GET /live/fleet`).
 * The ingest path calls {@linkcode FleetLive.reported} after every stored
 * heartbeat; it passes a workstation on to the subscribers only when
 * something a tile shows as a state changed (a script's state, health,
 * restarts, pid, reason or checks; the agent online or not; scripts added
 * or removed), so a quiet fleet sends nothing but keep-alives.
 *
 * Subscribers are bounded ({@linkcode FleetLive.subscribe} returns null when
 * full) and each sees only its sites.
 *
 * @module
 */
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
    ]),
  ]);
}

/** The broadcaster of workstation changes. */
export class FleetLive {
  #last = new Map<string, { signature: string; ws: WorkstationView }>();
  #subscribers = new Set<{ sites: readonly string[] | null; listener: LiveListener }>();
  readonly maxClients: number;

  /** `maxClients` bounds {@linkcode subscribe}. */
  constructor(options: { maxClients?: number } = {}) {
    this.maxClients = options.maxClients ?? MAX_LIVE_CLIENTS;
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
    this.#last.set(key, { signature: sig, ws });
    if (last?.signature === sig) return;
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
    return () => this.#subscribers.delete(subscriber);
  }

  #publish(ws: WorkstationView): void {
    for (const { sites, listener } of this.#subscribers) {
      if (sites === null || sites.includes(ws.site)) listener(ws);
    }
  }
}

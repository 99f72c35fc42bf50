/**
 * Every script's last 24 hours, recomputed in the background (`serve`
 * refreshes it every 30 s, less often for a big fleet), so that listing
 * 10,000 scripts or drawing their tiles costs a map lookup per script
 * instead of two store queries: the uptime ratio, the restarts, and a strip
 * of {@linkcode STRIP_SLOTS} letters (one an hour) for the tile's history bar.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Store } from "../store/store.ts";
import { DAY_MS, recentWindow, stripOf } from "./uptime.ts";

/** Slots of a tile's 24-hour strip: one an hour. */
export const STRIP_SLOTS = 24;

/** At most this many agents' histories are read at once (their scripts one after another). */
const PARALLEL = 16;

/** A script's last 24 hours, as its tile shows them. */
export interface RecentHistory {
  /** up / (up + down) over the time its state was known; null when never up or down. */
  ratio: number | null;
  /** Starts after a crash. */
  restarts: number;
  /** One letter an hour, oldest first: `u` up, `d` down, `i` idle, `n` unknown. */
  strip: string;
}

/** The last computed 24 hours per script. */
export class UptimeCache {
  #store: Store;
  #clock: Clock;
  #recent = new Map<string, RecentHistory>();
  #computedAt: number | null = null;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** up / (up + down) over the 24 h before the last refresh; null when unknown or not computed. */
  ratio(site: string, host: string, script: string): number | null {
    return this.recent(site, host, script)?.ratio ?? null;
  }

  /** The script's last 24 hours as of the last refresh, or null before it. */
  recent(site: string, host: string, script: string): RecentHistory | null {
    return this.#recent.get(`${site}\0${host}\0${script}`) ?? null;
  }

  /** When the numbers were computed (ms), or null before the first refresh. */
  get computedAt(): number | null {
    return this.#computedAt;
  }

  /** Recomputes every script's last 24 hours (an agent's presence read once for its scripts). */
  async refresh(): Promise<void> {
    const until = this.#clock.now();
    const since = until - DAY_MS;
    const fleet = await this.#store.listScripts();
    const purgedBefore = await this.#store.history.purgedBefore();
    const from = Math.min(Math.max(since, purgedBefore), until);
    const next = new Map<string, RecentHistory>();
    for (let i = 0; i < fleet.length; i += PARALLEL) {
      await Promise.all(
        fleet.slice(i, i + PARALLEL).map(async ({ agent: { site, host }, scripts }) => {
          const presence = await this.#store.history.presence(site, host, from, until);
          for (const { name: script } of scripts) {
            const { uptime, parts } = await recentWindow(this.#store, {
              site,
              host,
              script,
              since,
              until,
              purgedBefore,
              presence,
            });
            next.set(`${site}\0${host}\0${script}`, {
              ratio: uptime.ratio,
              restarts: uptime.restarts,
              strip: stripOf(parts, since, until, STRIP_SLOTS),
            });
          }
        }),
      );
    }
    this.#recent = next;
    this.#computedAt = until;
  }
}

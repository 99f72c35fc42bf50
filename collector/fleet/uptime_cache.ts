/**
 * Every script's uptime over the last 24 hours, recomputed in the
 * background (`serve` refreshes it every 30 s, less often for a big fleet), so that listing
 * 10,000 scripts costs a map lookup per script instead of two KV queries.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Store } from "../store/store.ts";
import { DAY_MS, uptimeReport } from "./uptime.ts";

/** The last computed 24-hour uptime ratio per script. */
export class UptimeCache {
  #store: Store;
  #clock: Clock;
  #ratios = new Map<string, number | null>();
  #computedAt: number | null = null;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** up / (up + down) over the 24 h before the last refresh; null when unknown or not computed. */
  ratio(site: string, host: string, script: string): number | null {
    return this.#ratios.get(`${site}\0${host}\0${script}`) ?? null;
  }

  /** When the numbers were computed (ms), or null before the first refresh. */
  get computedAt(): number | null {
    return this.#computedAt;
  }

  /** Recomputes every script's ratio. */
  async refresh(): Promise<void> {
    const now = this.#clock.now();
    const rows = await uptimeReport(this.#store, { since: now - DAY_MS, until: now });
    this.#ratios = new Map(rows.map((r) => [`${r.site}\0${r.host}\0${r.script}`, r.ratio]));
    this.#computedAt = now;
  }
}

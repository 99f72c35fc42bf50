/**
 * Environments: dev, staging and prod fleets kept apart at one collector. An
 * agent token names its environment (`agent-token create BFI4 ws-07
 * --environment staging`), so an agent belongs to one, and a site to the
 * environment of its agents: an agent of another environment may not report
 * for it (403). Users and API or wall tokens scoped to environments see the
 * sites of those environments only (their site list is worked out from this
 * map at each request). Agents whose token names none (made before
 * environments) are tolerated at any site.
 *
 * The map is read from the agents' records, again every 10 s, so that what
 * another collector sharing the store learned shows here too.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Store } from "../store/store.ts";

/** How long the map read from the store is used before it is read again. */
const REFRESH_MS = 10_000;

/** The environment of each site, as its agents' tokens say. */
export class SiteEnvironments {
  #store: Store;
  #clock: Clock;
  #bySite = new Map<string, string>();
  #readAt = -Infinity;
  #reading: Promise<void> | null = null;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** The environment of `site`, or null when none of its agents names one. */
  async environmentOf(site: string): Promise<string | null> {
    await this.#fresh();
    return this.#bySite.get(site) ?? null;
  }

  /** The sites of the environments in `environments`, sorted. */
  async sitesIn(environments: readonly string[]): Promise<string[]> {
    await this.#fresh();
    return [...this.#bySite].filter(([, env]) => environments.includes(env)).map(([site]) => site)
      .sort();
  }

  /**
   * The environment `site` belongs to when an agent of `environment` may not
   * report for it (another one); null when it may (and the site is then of
   * `environment`).
   */
  async conflict(site: string, environment: string | undefined): Promise<string | null> {
    if (environment === undefined) return null;
    await this.#fresh();
    const current = this.#bySite.get(site);
    if (current !== undefined && current !== environment) return current;
    this.#bySite.set(site, environment);
    return null;
  }

  #fresh(): Promise<void> {
    if (this.#clock.now() - this.#readAt < REFRESH_MS) return Promise.resolve();
    this.#reading ??= (async () => {
      try {
        const bySite = new Map<string, string>();
        for (const agent of await this.#store.listAgents()) {
          if (agent.environment !== undefined) bySite.set(agent.site, agent.environment);
        }
        this.#bySite = bySite;
        this.#readAt = this.#clock.now();
      } finally {
        this.#reading = null;
      }
    })();
    return this.#reading;
  }
}

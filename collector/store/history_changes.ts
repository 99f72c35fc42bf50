/**
 * Which scripts' state history and which agents' presence this process wrote
 * since a reader last asked, so that the uptime numbers of the fleet page
 * (`fleet/uptime_cache.ts`) recompute only what changed instead of reading
 * every script's history again every pass.
 *
 * It knows this process's writes only: another collector sharing the store
 * (PostgreSQL replicas, a second process on the KV file) or a restore writes
 * past it, so a reader still reads everything now and then.
 *
 * @module
 */

/** What changed since the last `take()`. */
export interface HistoryChangeSet {
  /** `site\0host\0script` → the latest `at` (ms) of a state change written for it. */
  scripts: Map<string, number>;
  /** `site\0host` of agents whose presence (online, offline) was written. */
  agents: Set<string>;
}

/** Keys the change set grows to before it gives up naming them (then everything changed). */
const MAX_KEYS = 200_000;

/** The key of a script in a {@linkcode HistoryChangeSet}. */
export const scriptKey = (site: string, host: string, script: string): string =>
  `${site}\0${host}\0${script}`;

/** The key of an agent in a {@linkcode HistoryChangeSet}. */
export const agentKey = (site: string, host: string): string => `${site}\0${host}`;

/** Collects the history this process writes (see the module doc). */
export class HistoryChanges {
  #scripts = new Map<string, number>();
  #agents = new Set<string>();
  #everything = false;

  /** A state change of `script` at `at` (ms) was written. */
  noteScript(site: string, host: string, script: string, at: number): void {
    if (this.#everything) return;
    const key = scriptKey(site, host, script);
    this.#scripts.set(key, Math.max(at, this.#scripts.get(key) ?? -Infinity));
    this.#bound();
  }

  /** A presence mark of the agent was written. */
  noteAgent(site: string, host: string): void {
    if (this.#everything) return;
    this.#agents.add(agentKey(site, host));
    this.#bound();
  }

  /**
   * What changed since the last call, and starts afresh; null when too much
   * changed to name (read everything).
   */
  take(): HistoryChangeSet | null {
    const taken = this.#everything ? null : { scripts: this.#scripts, agents: this.#agents };
    this.#scripts = new Map();
    this.#agents = new Set();
    this.#everything = false;
    return taken;
  }

  /** Puts back what `take()` gave a reader that could not use it (its refresh failed). */
  restore(taken: HistoryChangeSet | null): void {
    if (taken === null || this.#everything) {
      this.#everything = true;
      this.#scripts.clear();
      this.#agents.clear();
      return;
    }
    for (const [key, at] of taken.scripts) {
      this.#scripts.set(key, Math.max(at, this.#scripts.get(key) ?? -Infinity));
    }
    for (const key of taken.agents) this.#agents.add(key);
    this.#bound();
  }

  #bound(): void {
    if (this.#scripts.size + this.#agents.size <= MAX_KEYS) return;
    this.#everything = true;
    this.#scripts.clear();
    this.#agents.clear();
  }
}

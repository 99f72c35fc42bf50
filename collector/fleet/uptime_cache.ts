/**
 * Every script's last 24 hours, recomputed in the background (`serve`
 * refreshes it every 30 s, less often for a big fleet), so that listing
 * 10,000 scripts or drawing their tiles costs a map lookup per script
 * instead of two store queries: the uptime ratio, the restarts, and a strip
 * of {@linkcode STRIP_SLOTS} letters (one an hour) for the tile's history bar.
 *
 * A refresh reads the store only for what changed: the scripts whose state
 * changes, and the agents whose presence, this process wrote since the last
 * one (`store.history.changes`). Every other script's window slides in
 * memory: its state has not changed since the last refresh, so the time
 * since is more of its last segment, and what fell out of the window's
 * start is cut off. A script whose agent came or went, but whose state did
 * not change, is walked again from its kept state changes and its agent's
 * presence, read once for all its scripts: when a whole fleet comes back
 * after an outage, a refresh reads each agent once, not each script. What it
 * reads it reads for {@linkcode PARALLEL} agents together, their presence in
 * one read and their scripts' state changes in another: on PostgreSQL a
 * statement each, so that a full pass over 10,000 scripts makes some 130
 * round trips instead of 11,000 (on a KV file, a few reads at a time). Writes
 * this process cannot see (a replica's, a restore's) are taken in by a pass
 * that reads everything, every {@linkcode FULL_PASS_EVERY_MS}, and when the
 * purge moved the history's start.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Transition } from "../store/history.ts";
import type { Store } from "../store/store.ts";
import type { AgentScripts } from "../store/types.ts";
import { agentKey, type HistoryChangeSet, scriptKey } from "../store/history_changes.ts";
import { DAY_MS, partsOf, restartTimes, type Segment, stripOf, summarize } from "./uptime.ts";

/** Slots of a tile's 24-hour strip: one an hour. */
export const STRIP_SLOTS = 24;

/** This many agents' histories are read together (see the module doc). */
const PARALLEL = 16;

/** A refresh reads every script's history at least this often (ms). */
export const FULL_PASS_EVERY_MS = 5 * 60_000;

/** A window with more segments than this is read again each refresh instead of kept. */
const MAX_KEPT_SEGMENTS = 64;

/**
 * A refresh lets requests in after running this long without a pause (ms), between agents read
 * {@linkcode PARALLEL} at a time. Sliding 10,000 scripts' windows in memory waits for no store
 * read: without the pauses a refresh held the collector's requests for 43–64 ms every 30 s, with
 * them for 10–15 ms (at most 41, bench/README.md).
 */
export const RUN_AT_MOST_MS = 2;

/** A script's last 24 hours, as its tile shows them. */
export interface RecentHistory {
  /** up / (up + down) over the time its state was known; null when never up or down. */
  ratio: number | null;
  /** Starts after a crash. */
  restarts: number;
  /** One letter an hour, oldest first: `u` up, `d` down, `i` idle, `n` unknown. */
  strip: string;
}

/**
 * What a script's window is slid from: its segments, its restarts' times, and its state changes
 * (with the last one before the window) to walk again with new presence marks.
 */
interface Window {
  parts: Segment[];
  restartsAt: number[];
  transitions: readonly Transition[];
}

/** The last computed 24 hours per script. */
export class UptimeCache {
  #store: Store;
  #clock: Clock;
  #recent = new Map<string, RecentHistory>();
  #windows = new Map<string, Window>();
  #computedAt: number | null = null;
  /** Scripts with a state change dated after the last refresh (a clock ahead): read again. */
  #dueLater = new Map<string, number>();
  #fullPassAt = -Infinity;
  #purgedBefore = -Infinity;
  #passes = { full: 0, scriptsRead: 0, agentsRead: 0 };
  #runAtMostMs: number;
  #pause: () => Promise<void>;

  /**
   * `runAtMostMs`: see {@linkcode RUN_AT_MOST_MS}; `pause`: how a refresh lets requests in
   * (default: a turn of the event loop).
   */
  constructor(
    store: Store,
    clock: Clock,
    options: { runAtMostMs?: number; pause?: () => Promise<void> } = {},
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#runAtMostMs = options.runAtMostMs ?? RUN_AT_MOST_MS;
    this.#pause = options.pause ?? (() => new Promise((resolve) => setTimeout(resolve, 0)));
  }

  /** up / (up + down) over the 24 h before the last refresh; null when unknown or not computed. */
  ratio(site: string, host: string, script: string): number | null {
    return this.recent(site, host, script)?.ratio ?? null;
  }

  /** The script's last 24 hours as of the last refresh, or null before it. */
  recent(site: string, host: string, script: string): RecentHistory | null {
    return this.#recent.get(scriptKey(site, host, script)) ?? null;
  }

  /** When the numbers were computed (ms), or null before the first refresh. */
  get computedAt(): number | null {
    return this.#computedAt;
  }

  /** Refreshes that read every script; scripts' state changes and agents' presence read, so far. */
  get passes(): { full: number; scriptsRead: number; agentsRead: number } {
    return { ...this.#passes };
  }

  /**
   * Recomputes every script's last 24 hours: from the store for what changed
   * (an agent's presence read once for its scripts), in memory for the rest.
   */
  async refresh(): Promise<void> {
    const changes = this.#store.history.changes.take();
    try {
      await this.#refresh(changes);
    } catch (error) {
      this.#store.history.changes.restore(changes); // the next refresh reads them
      throw error;
    }
  }

  async #refresh(changes: HistoryChangeSet | null): Promise<void> {
    const until = this.#clock.now();
    const since = until - DAY_MS;
    const fleet = await this.#store.listScripts();
    const purgedBefore = await this.#store.history.purgedBefore();
    // A clock that stepped back would make slid windows reach past `until`: read everything.
    const full = changes === null || until - this.#fullPassAt >= FULL_PASS_EVERY_MS ||
      until < (this.#computedAt ?? -Infinity) || purgedBefore !== this.#purgedBefore;
    if (full) this.#passes.full++;
    const from = Math.min(Math.max(since, purgedBefore), until);
    const recent = new Map<string, RecentHistory>();
    const windows = new Map<string, Window>();
    const keep = (key: string, window: Window) => {
      const parts = window.parts;
      const uptime = summarize(parts, [], since, until);
      const counted = uptime.upMs + uptime.downMs;
      recent.set(key, {
        ratio: counted === 0 ? null : uptime.upMs / counted,
        restarts: window.restartsAt.length,
        strip: stripOf(parts, since, until, STRIP_SLOTS),
      });
      if (parts.length <= MAX_KEPT_SEGMENTS) windows.set(key, window);
    };
    let ranFrom = performance.now();
    for (let i = 0; i < fleet.length; i += PARALLEL) {
      if (performance.now() - ranFrom >= this.#runAtMostMs) {
        await this.#pause();
        ranFrom = performance.now();
      }
      await this.#readChunk(fleet.slice(i, i + PARALLEL), {
        changes,
        full,
        since,
        from,
        until,
        keep,
      });
    }
    // A state change dated after `until` (an agent's clock ahead) is read again next time.
    const dueLater = new Map<string, number>();
    for (const [key, at] of [...this.#dueLater, ...changes?.scripts ?? []]) {
      if (at >= until) dueLater.set(key, Math.max(at, dueLater.get(key) ?? at));
    }
    this.#dueLater = dueLater;
    if (full) this.#fullPassAt = until;
    this.#purgedBefore = purgedBefore;
    this.#recent = recent;
    this.#windows = windows;
    this.#computedAt = until;
  }

  /**
   * Recomputes the scripts of `agents`: slid in memory where nothing changed, from their kept
   * state changes where only their agent came or went, else from the store. What is read is
   * read together: every agent's presence in one read, every script's state changes in another
   * (one statement each on PostgreSQL, a few reads at a time on a KV file).
   */
  async #readChunk(agents: readonly AgentScripts[], pass: Pass): Promise<void> {
    const { changes, full, since, from, until, keep } = pass;
    const present: { site: string; host: string }[] = [];
    const fromKept: { key: string; kept: Window; agent: number }[] = [];
    const toRead: { site: string; host: string; script: string; key: string; agent: number }[] = [];
    for (const { agent: { site, host }, scripts } of agents) {
      const agentChanged = full || changes === null || changes.agents.has(agentKey(site, host));
      const agent = present.length;
      let read = false;
      for (const { name: script } of scripts) {
        const key = scriptKey(site, host, script);
        const kept = this.#windows.get(key);
        const changed = changes?.scripts.has(key) || this.#dueLater.has(key);
        if (!agentChanged && !changed && kept !== undefined) {
          keep(key, slide(kept, since, until));
          continue;
        }
        read = true;
        // Only its agent came or went: its state changes are the ones kept.
        if (!full && !changed && kept !== undefined) fromKept.push({ key, kept, agent });
        else toRead.push({ site, host, script, key, agent });
      }
      if (read) present.push({ site, host });
    }
    if (present.length === 0) return;
    this.#passes.agentsRead += present.length;
    this.#passes.scriptsRead += toRead.length;
    const [presence, read] = await Promise.all([
      this.#store.history.presenceOf(present, from, until),
      this.#store.history.transitionsOf(toRead, from, until),
    ]);
    const windowOf = (transitions: readonly Transition[], agent: number): Window => ({
      parts: partsOf(transitions, presence[agent], since, from, until),
      restartsAt: restartTimes(transitions, since, until),
      transitions,
    });
    for (const { key, kept, agent } of fromKept) {
      keep(key, windowOf(stillIn(kept.transitions, since), agent));
    }
    toRead.forEach(({ key, agent }, i) => keep(key, windowOf(read[i], agent)));
  }
}

/** What one refresh hands each chunk of agents (see {@linkcode UptimeCache.refresh}). */
interface Pass {
  changes: HistoryChangeSet | null;
  full: boolean;
  since: number;
  /** The window's start, or the purge's cut-off when that is later. */
  from: number;
  until: number;
  keep(key: string, window: Window): void;
}

/**
 * `window` moved to end at `until` and start at `since`: its last segment
 * (the state it is still in) runs on to `until`, what is before `since` is
 * cut off. The segments are copied: the window given is left as it was.
 */
function slide(window: Window, since: number, until: number): Window {
  const parts: Segment[] = [];
  for (const part of window.parts) {
    if (part.to <= since) continue;
    parts.push({ from: Math.max(part.from, since), to: part.to, state: part.state });
  }
  const last = parts.at(-1);
  if (last !== undefined && last.to < until) last.to = until;
  else if (last === undefined) parts.push({ from: since, to: until, state: null });
  return {
    parts,
    restartsAt: window.restartsAt.filter((at) => at >= since),
    transitions: stillIn(window.transitions, since),
  };
}

/** The state changes from `since` on, with the last one before it (the state `since` finds). */
function stillIn(transitions: readonly Transition[], since: number): readonly Transition[] {
  let before = -1;
  for (let i = 0; i < transitions.length; i++) if (transitions[i].at < since) before = i;
  if (before <= 0) return transitions;
  return transitions.filter((t, i) => i === before || t.at >= since);
}

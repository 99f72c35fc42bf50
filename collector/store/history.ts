/**
 * What the collector keeps for uptime and charts, beside the raw events:
 *
 * - `["transition", site, host, script, atMs, seq]` → {@linkcode Transition}: every state
 *   change of a script, written in the same atomic as its event (so exactly once);
 * - `["presence", site, host, atMs]` → `"online" | "offline"`: when the collector saw an
 *   agent come back or go silent (while offline, its scripts' state is unknown);
 * - `["sample", site, host, atMs]` → one compact resource sample of every script of the
 *   agent, at most one per {@linkcode SAMPLE_EVERY_MS};
 * - `["rollup", site, host, script, dayMs]` → {@linkcode DayRollup}: a UTC day's uptime,
 *   kept past the events' retention (`rollup_retention`).
 *
 * The purge keeps, per script and per agent, the newest transition and
 * presence mark before the cut-off (they say what state the history starts
 * in), and notes the cut-off in `["history_purged_before"]`: raw history
 * before it is unknown (whole days there come from their rollups). A store
 * with day tables (PostgreSQL, `capabilities.ts`) drops whole days instead of
 * deleting entries: the cut-off is then the start of the oldest day kept.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { retryLocked } from "./kv_retry.ts";
import { dayTablesOf, lastOfRangesOf } from "./capabilities.ts";
import { HistoryChanges } from "./history_changes.ts";

/** A window's entries: a first page this small (most hold one or two), then pages this big. */
const WINDOW_FIRST = 8;
const WINDOW_REST = 500;
/** Windows read at once from a store that reads them one by one (a Deno KV file). */
const WINDOWS_AT_ONCE = 16;

/** One resource sample of an agent's scripts is kept per this many ms. */
export const SAMPLE_EVERY_MS = 5 * 60_000;
/** Resource samples are kept this long (the script page charts 24 h and 7 d). */
export const SAMPLE_RETENTION_MS = 8 * 24 * 3_600_000;

/** A script's state change. */
export interface Transition {
  at: number;
  state: string;
  from: string | null;
  /** A start within a crash loop (crash-looping to crash-looping with a new pid): a restart. */
  retry?: true;
}

/** An agent coming back or going silent, as the collector saw it. */
export interface PresenceMark {
  at: number;
  online: boolean;
}

/** `[script, rssBytes, cpuPercent]` of one script in a sample. */
export type SampleRow = [string, number | null, number | null];

/** One point of a script's resource chart. */
export interface ResourcePoint {
  at: string;
  rssBytes: number | null;
  cpuPercent: number | null;
}

/** A UTC day's uptime of one script, in ms per bucket (see `uptime.ts`). */
export interface DayRollup {
  day: number;
  upMs: number;
  downMs: number;
  idleMs: number;
  unknownMs: number;
  restarts: number;
}

/** Where the purge notes its latest cut-off. */
const CUTOFF_KEY = ["history_purged_before"];

/** How many KV entries one purge commit deletes. */
const PURGE_BATCH = 400;

/** Reads and prunes the history the module doc describes. */
export class HistoryStore {
  #kv: KvHandle;
  /** The transitions and presence marks this process wrote, for the uptime cache. */
  readonly changes: HistoryChanges = new HistoryChanges();

  constructor(kv: KvHandle) {
    this.#kv = kv;
  }

  /** The transitions of a script in `[since, until)`, after the last one before `since`. */
  transitions(
    site: string,
    host: string,
    script: string,
    since: number,
    until: number,
  ): Promise<Transition[]> {
    return this.#window<Transition>(["transition", site, host, script], since, until);
  }

  /** {@linkcode transitions} of each of `scripts`, read together where the store can. */
  transitionsOf(
    scripts: readonly { site: string; host: string; script: string }[],
    since: number,
    until: number,
  ): Promise<Transition[][]> {
    const prefixes = scripts.map(({ site, host, script }) => ["transition", site, host, script]);
    return this.#windows<Transition>(prefixes, since, until);
  }

  /** {@linkcode presence} of each of `agents`, read together where the store can. */
  presenceOf(
    agents: readonly { site: string; host: string }[],
    since: number,
    until: number,
  ): Promise<PresenceMark[][]> {
    const prefixes = agents.map(({ site, host }) => ["presence", site, host]);
    return this.#windows<PresenceMark>(prefixes, since, until);
  }

  /** The presence marks of an agent in `[since, until)`, after the last one before `since`. */
  presence(
    site: string,
    host: string,
    since: number,
    until: number,
  ): Promise<PresenceMark[]> {
    return this.#window<PresenceMark>(["presence", site, host], since, until);
  }

  /** The resource samples of one script in `[since, until)`, oldest first. */
  async resourceSeries(
    site: string,
    host: string,
    script: string,
    range: { since: number; until: number },
  ): Promise<ResourcePoint[]> {
    const points: ResourcePoint[] = [];
    if (range.since >= range.until) return points;
    const list = this.#kv.list<SampleRow[]>({
      start: ["sample", site, host, range.since],
      end: ["sample", site, host, range.until],
    }, { batchSize: 500 });
    for await (const entry of list) {
      const row = entry.value.find((r) => r[0] === script);
      if (row === undefined) continue;
      points.push({
        at: new Date(entry.key[3] as number).toISOString(),
        rssBytes: row[1],
        cpuPercent: row[2],
      });
    }
    return points;
  }

  /** The rollups of a script for the UTC days starting in `[since, until)`. */
  async rollups(
    site: string,
    host: string,
    script: string,
    since: number,
    until: number,
  ): Promise<Map<number, DayRollup>> {
    const prefix = ["rollup", site, host, script];
    const out = new Map<number, DayRollup>();
    if (since >= until) return out;
    for await (
      const { value } of this.#kv.list<DayRollup>({
        start: [...prefix, since],
        end: [...prefix, until],
      })
    ) out.set(value.day, value);
    return out;
  }

  /**
   * Every script's rollups of the UTC days starting in `[since, until)`, by site, host, script
   * and day, read lazily; only those of `sites` when given.
   */
  async *allRollups(
    options: { since: number; until: number; sites?: readonly string[] },
  ): AsyncGenerator<{ site: string; host: string; script: string; rollup: DayRollup }> {
    const prefixes: Deno.KvKey[] = options.sites === undefined
      ? [["rollup"]]
      : [...new Set(options.sites)].sort().map((site) => ["rollup", site]);
    for (const prefix of prefixes) {
      for await (const entry of this.#kv.list<DayRollup>({ prefix }, { batchSize: 500 })) {
        const [, site, host, script, day] = entry.key as [string, string, string, string, number];
        if (day >= options.since && day < options.until) {
          yield { site, host, script, rollup: entry.value };
        }
      }
    }
  }

  /** Stores `rollup` (a day rolled up twice is overwritten with the same numbers). */
  async saveRollup(site: string, host: string, script: string, rollup: DayRollup): Promise<void> {
    await retryLocked(() => this.#kv.set(["rollup", site, host, script, rollup.day], rollup));
  }

  /** The newest day rolled up for a script, or null. */
  async lastRollupDay(site: string, host: string, script: string): Promise<number | null> {
    for await (
      const entry of this.#kv.list<DayRollup>({ prefix: ["rollup", site, host, script] }, {
        reverse: true,
        limit: 1,
      })
    ) return entry.value.day;
    return null;
  }

  /** Before this time (ms) the purge took the history: it is unknown there (0: never purged). */
  async purgedBefore(): Promise<number> {
    return (await retryLocked(() => this.#kv.get<number>(CUTOFF_KEY))).value ?? 0;
  }

  /**
   * Deletes transitions and presence marks before `before` (keeping the
   * newest one of each script and agent), samples before `samplesBefore`
   * and rollups before `rollupsBefore`. Returns how many entries went. With day tables, the
   * days ending before each cut-off are dropped whole.
   */
  async purge(
    cutoffs: { before: number; samplesBefore: number; rollupsBefore: number },
  ): Promise<number> {
    const deletes: Deno.KvKey[] = [];
    let dropped = 0;
    let purgedBefore = cutoffs.before;
    const tables = dayTablesOf(this.#kv);
    if (tables === null) {
      // Keys sort by (site, host[, script]) then time: all but the last old entry of each group go.
      await this.#keepLastOld(["transition"], 4, cutoffs.before, deletes);
      await this.#keepLastOld(["presence"], 3, cutoffs.before, deletes);
      await this.#olderThan(["sample"], 3, cutoffs.samplesBefore, deletes);
    } else {
      const changes = await tables.dropBefore("transitions", cutoffs.before, {
        keep: [{ first: "transition", groupLength: 4 }, { first: "presence", groupLength: 3 }],
      });
      const samples = await tables.dropBefore("samples", cutoffs.samplesBefore);
      dropped = changes.records + samples.records;
      purgedBefore = changes.through;
    }
    await this.#olderThan(["rollup"], 4, cutoffs.rollupsBefore, deletes);
    const cutoff = await this.purgedBefore();
    if (purgedBefore > cutoff) await retryLocked(() => this.#kv.set(CUTOFF_KEY, purgedBefore));
    for (let i = 0; i < deletes.length; i += PURGE_BATCH) {
      const op = this.#kv.atomic();
      for (const key of deletes.slice(i, i + PURGE_BATCH)) op.delete(key);
      await retryLocked(() => op.commit());
    }
    return deletes.length + dropped;
  }

  /**
   * The entries under `prefix` (whose next key part is a time) in `[since, until)`, oldest first,
   * after the last one before `since`: one list, newest first, that stops past `since`
   * (`firstPage`: its first {@linkcode WINDOW_FIRST} entries, read already). An empty window
   * (`until` at or before `since`) has only the one before `since`.
   */
  async #window<T>(
    prefix: Deno.KvKey,
    since: number,
    until: number,
    firstPage?: readonly Deno.KvEntry<T>[],
  ): Promise<T[]> {
    const out: T[] = [];
    const end: Deno.KvKey = [...prefix, Math.max(since, until)];
    // Newest first, down to the first entry before `since`.
    const reached = (entries: Iterable<Deno.KvEntry<T>>) => {
      for (const { key, value } of entries) {
        out.push(value);
        if ((key[prefix.length] as number) < since) return true;
      }
      return false;
    };
    // A small first page (most windows hold one or two entries), then big ones from where it ended.
    const first = firstPage ?? await Array.fromAsync(
      this.#kv.list<T>({ start: prefix, end }, { reverse: true, limit: WINDOW_FIRST }),
    );
    if (!reached(first) && first.length === WINDOW_FIRST) {
      const rest = this.#kv.list<T>({ start: prefix, end: first[WINDOW_FIRST - 1].key }, {
        reverse: true,
        batchSize: WINDOW_REST,
      });
      for await (const entry of rest) if (reached([entry])) break;
    }
    return out.reverse();
  }

  /**
   * {@linkcode #window} of each of `prefixes`: their first pages in one read where the store can
   * (PostgreSQL: a statement for hundreds instead of a round trip each), else a few at a time.
   */
  async #windows<T>(prefixes: Deno.KvKey[], since: number, until: number): Promise<T[][]> {
    const lastOf = lastOfRangesOf(this.#kv);
    if (lastOf === null) {
      return await mapAtMost(
        prefixes,
        WINDOWS_AT_ONCE,
        (prefix) => this.#window<T>(prefix, since, until),
      );
    }
    const end = Math.max(since, until);
    const ranges = prefixes.map((prefix) => ({ start: prefix, end: [...prefix, end] }));
    const firstPages = await lastOf<T>(ranges, WINDOW_FIRST);
    return await Promise.all(
      prefixes.map((prefix, i) => this.#window<T>(prefix, since, until, firstPages[i])),
    );
  }

  async #keepLastOld(
    prefix: Deno.KvKey,
    timeIndex: number,
    before: number,
    deletes: Deno.KvKey[],
  ): Promise<void> {
    let held: Deno.KvKey | null = null;
    let heldGroup = "";
    for await (const { key } of this.#kv.list({ prefix }, { batchSize: 1000 })) {
      if ((key[timeIndex] as number) >= before) continue;
      const group = JSON.stringify(key.slice(0, timeIndex));
      if (held !== null && group === heldGroup) deletes.push(held);
      held = key;
      heldGroup = group;
    }
  }

  async #olderThan(
    prefix: Deno.KvKey,
    timeIndex: number,
    before: number,
    deletes: Deno.KvKey[],
  ): Promise<void> {
    for await (const { key } of this.#kv.list({ prefix }, { batchSize: 1000 })) {
      if ((key[timeIndex] as number) < before) deletes.push(key);
    }
  }
}

/** `read` of each of `items` (in their order), at most `atOnce` running at a time. */
async function mapAtMost<I, O>(
  items: readonly I[],
  atOnce: number,
  read: (item: I) => Promise<O>,
): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await read(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, worker));
  return out;
}

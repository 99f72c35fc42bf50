/**
 * What a store can do beyond the `Deno.Kv` calls both stores share: a Deno KV
 * file has none of these; the PostgreSQL store (`postgres/`) has all three.
 *
 * - Unbounded atomics: one commit may hold any number of writes (Deno KV: at
 *   most 1,000 mutations and 800 KiB), so an ingest is one commit.
 * - Ranges read together: the last few entries of many key ranges in one read
 *   (`lastOfRanges`), where a read is a round trip.
 * - Day tables: the history (events; state changes and presence marks;
 *   resource samples) is kept in one table per kind and UTC day of the record's
 *   own time, and retention drops whole days.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";

/** The history kinds kept in day tables. */
export type HistoryKind = "events" | "transitions" | "samples";

/** Groups whose newest record before a cut-off is kept when its day is dropped. */
export interface KeepNewest {
  /** The first key part of the group's records ("transition"). */
  first: string;
  /** How many key parts name the group (["transition", site, host, script]: 4). */
  groupLength: number;
}

/** What {@linkcode DayTables.dropBefore} did. */
export interface DroppedDays {
  /** The days dropped (`YYYY-MM-DD`), oldest first. */
  days: string[];
  /** The records they held, counting only keys whose first part is `count` when given. */
  records: number;
  /** Records kept past the drop (the newest of a group, see {@linkcode KeepNewest}). */
  kept: number;
  /** History before this time (ms) is gone, but for the records kept. */
  through: number;
}

/** History kept in day tables. */
export interface DayTables {
  /**
   * Drops the days of `kind` that end at or before `before` (ms): a day is dropped whole, so a
   * record is kept up to one day past `before`. The newest record of each `keep` group in the
   * dropped days moves to the oldest day kept first.
   */
  dropBefore(
    kind: HistoryKind,
    before: number,
    options?: { keep?: KeepNewest[]; count?: string },
  ): Promise<DroppedDays>;
}

/** The store's day tables, or null when it deletes history record by record (a KV file). */
export function dayTablesOf(kv: KvHandle): DayTables | null {
  return (kv as { dayTables?: DayTables }).dayTables ?? null;
}

/** Whether one atomic commit of `kv` may hold any number of writes. */
export function unboundedAtomics(kv: KvHandle): boolean {
  return (kv as { unboundedAtomics?: boolean }).unboundedAtomics === true;
}

/** The last `limit` entries of each range, last first (as `list` with `reverse` and `limit`). */
export type LastOfRanges = <T>(
  ranges: readonly { start: Deno.KvKey; end: Deno.KvKey }[],
  limit: number,
) => Promise<Deno.KvEntry<T>[][]>;

/** How `kv` reads many ranges' last entries in one go, or null when it reads them one by one. */
export function lastOfRangesOf(kv: KvHandle): LastOfRanges | null {
  const read = (kv as { lastOfRanges?: LastOfRanges }).lastOfRanges;
  return read === undefined ? null : read.bind(kv);
}

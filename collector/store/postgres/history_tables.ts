/**
 * The history's day tables (`migrations/0002_history.sql`): which keys live in
 * `kv_history` rather than `kv`, the UTC day each record is filed under (its
 * own time: an event's `at`, a sample's or a state change's time in its key,
 * as `store.ts` and `history.ts` lay them out), creating a day's table before
 * the first write to it, and dropping whole days for retention.
 *
 * @module
 */

import type postgres from "postgres";
import type { DayTables, DroppedDays, HistoryKind, KeepNewest } from "../capabilities.ts";
import { decodeKey, encodeKey } from "../../../shared/kv/key_codec.ts";

type Sql = postgres.Sql;

const DAY_MS = 86_400_000;

/** A record's first key part → its kind and where its time is. */
const ROUTES: Record<
  string,
  { kind: HistoryKind; time: (key: Deno.KvKey, value: unknown) => unknown }
> = {
  event: {
    kind: "events",
    time: (_key, value) => Date.parse(String((value as { at?: unknown } | null)?.at)),
  },
  event_time: { kind: "events", time: (key) => key[1] },
  transition: { kind: "transitions", time: (key) => key[4] },
  presence: { kind: "transitions", time: (key) => key[3] },
  sample: { kind: "samples", time: (key) => key[3] },
};

/** The history kind of `key`, or null for a key kept in `kv`. */
export function historyKind(key: Deno.KvKey): HistoryKind | null {
  const first = key[0];
  return typeof first === "string" && Object.hasOwn(ROUTES, first) ? ROUTES[first].kind : null;
}

/** Where a listing reads: `kv`, one history kind, or both tables. */
export function selectorSource(selector: Deno.KvListSelector): "kv" | "all" | HistoryKind {
  let first: Deno.KvKeyPart | undefined;
  if ("prefix" in selector && selector.prefix.length > 0) first = selector.prefix[0];
  else if ("start" in selector && "end" in selector && selector.start[0] === selector.end[0]) {
    first = selector.start[0];
  }
  if (first === undefined) return "all";
  return historyKind([first]) ?? "kv";
}

/** `YYYY-MM-DD` of the UTC day containing `ms`. */
export function dayOf(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The day a history record is filed under: the day of its own time, or today when it has
 * none. A time more than a day ahead (an agent's clock far off) is filed under tomorrow, so
 * that no table is made for a far future day.
 */
export function recordDay(key: Deno.KvKey, value: unknown, now = Date.now()): string {
  const route = ROUTES[key[0] as string];
  const time = route?.time(key, value);
  if (typeof time !== "number" || !Number.isFinite(time) || Math.abs(time) > 8.64e15) {
    return dayOf(now);
  }
  return dayOf(Math.min(time, now + DAY_MS));
}

/** The bytes a key under `[first]` sorts between: `[from, to)`. */
function prefixRange(first: string): { from: Uint8Array; to: Uint8Array } {
  const from = encodeKey([first]);
  const to = new Uint8Array(from.length + 1);
  to.set(from);
  to[from.length] = 0xff;
  return { from, to };
}

/** The day tables of one database: made on demand, dropped by retention. */
export class PgDayTables implements DayTables {
  #sql: Sql;
  /** `kind/day` of the tables known to exist. */
  #known = new Set<string>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Makes the tables of `days` (`[kind, YYYY-MM-DD]`) that this process has not seen yet. */
  async ensure(days: Iterable<[HistoryKind, string]>): Promise<void> {
    const kinds: string[] = [];
    const dates: string[] = [];
    for (const [kind, day] of days) {
      if (this.#known.has(`${kind}/${day}`)) continue;
      kinds.push(kind);
      dates.push(day);
    }
    if (kinds.length === 0) return;
    await this.#sql`
      SELECT kv_history_add_day(k, d::date)
      FROM unnest(${kinds}::text[], ${dates}::text[]) AS t(k, d)`;
    kinds.forEach((kind, i) => this.#known.add(`${kind}/${dates[i]}`));
  }

  /** Forgets which tables exist (another replica may have dropped some). */
  forget(): void {
    this.#known.clear();
  }

  /** The days of `kind` that have a table, oldest first. */
  async days(kind: HistoryKind): Promise<string[]> {
    const rows = await this.#sql<{ name: string }[]>`
      SELECT c.relname AS name FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
      WHERE i.inhparent = ${`kv_history_${kind}`}::regclass`;
    return rows.map(({ name }) => /_(\d{4})(\d{2})(\d{2})$/.exec(name))
      .filter((m) => m !== null)
      .map((m) => `${m![1]}-${m![2]}-${m![3]}`)
      .sort();
  }

  async dropBefore(
    kind: HistoryKind,
    before: number,
    options: { keep?: KeepNewest[]; count?: string } = {},
  ): Promise<DroppedDays> {
    const cut = dayOf(before);
    const through = Date.parse(`${cut}T00:00:00Z`);
    const old = (await this.days(kind)).filter((day) => day < cut);
    if (old.length === 0) return { days: [], records: 0, kept: 0, through };
    if ((options.keep ?? []).length > 0) await this.ensure([[kind, cut]]);
    const result = await this.#sql.begin(async (tx) => {
      // A long reader holding the parent table must not make every writer queue behind the drop.
      await tx`SET LOCAL lock_timeout = '5s'`;
      let kept = 0;
      for (const group of options.keep ?? []) kept += await this.#keepNewest(tx, kind, cut, group);
      const counted = options.count === undefined ? null : prefixRange(options.count);
      const [{ records }] = counted === null
        ? await tx<{ records: string }[]>`
            SELECT count(*) AS records FROM kv_history WHERE kind = ${kind} AND day < ${cut}::date`
        : await tx<{ records: string }[]>`
            SELECT count(*) AS records FROM kv_history
            WHERE kind = ${kind} AND day < ${cut}::date
              AND key >= ${counted.from} AND key < ${counted.to}`;
      for (const day of old) {
        await tx`DROP TABLE ${tx(`kv_history_${kind}_${day.replaceAll("-", "")}`)}`;
      }
      return { kept, records: Number(records) };
    });
    for (const day of old) this.#known.delete(`${kind}/${day}`);
    return { days: old, records: result.records, kept: result.kept, through };
  }

  /** Moves the newest record of each group before day `cut` into `cut`'s table; how many. */
  async #keepNewest(
    tx: postgres.TransactionSql,
    kind: HistoryKind,
    cut: string,
    group: KeepNewest,
  ): Promise<number> {
    const { from, to } = prefixRange(group.first);
    const keepers: string[] = [];
    let held: Uint8Array | null = null;
    let heldGroup = "";
    let after = from;
    for (let page = 0; page < 1_000_000; page++) {
      const rows: { key: Uint8Array }[] = await tx`
        SELECT DISTINCT key FROM kv_history
        WHERE kind = ${kind} AND day < ${cut}::date AND key > ${after} AND key < ${to}
        ORDER BY key LIMIT 5000`;
      for (const { key } of rows) {
        const name = JSON.stringify(decodeKey(key).slice(0, group.groupLength));
        if (held !== null && name !== heldGroup) keepers.push(held.toHex());
        held = key;
        heldGroup = name;
      }
      if (rows.length < 5000) break;
      after = rows[rows.length - 1].key;
    }
    if (held !== null) keepers.push(held.toHex());
    let moved = 0;
    for (let i = 0; i < keepers.length; i += 1000) {
      const batch = keepers.slice(i, i + 1000);
      const done = await tx`
        UPDATE kv_history AS h SET day = ${cut}::date
        WHERE h.kind = ${kind} AND h.day < ${cut}::date
          AND h.key IN (SELECT decode(k, 'hex') FROM unnest(${batch}::text[]) AS k)
          AND h.version = (
            SELECT max(version) FROM kv_history AS same WHERE same.kind = h.kind AND same.key = h.key)
          AND NOT EXISTS (
            SELECT 1 FROM kv_history AS newer
            WHERE newer.kind = h.kind AND newer.key = h.key AND newer.day >= ${cut}::date)`;
      moved += done.count;
    }
    return moved;
  }
}

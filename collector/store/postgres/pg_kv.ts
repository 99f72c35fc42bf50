/**
 * The collector's key-value store on PostgreSQL: what the collector uses of
 * `Deno.Kv` (get, getMany, set, delete, list, atomic with checks and u64
 * sums, `expireIn`), on the `kv` table of `migrations/0001_kv.sql` and, for
 * the history, the day tables of `kv_history` (`history_tables.ts`). Keys sort
 * as in KV (`shared/kv/key_codec.ts`), values are tagged JSON (`shared/kv/value_codec.ts`), an atomic
 * commit is one call of the `kv_commit` function: one round trip, serialised
 * with every other commit touching its keys, whichever collector sends it.
 * Expiry is judged by the database's clock.
 *
 * @module
 */

import type postgres from "postgres";
import { decodeValue, type Encoded, encodeValue } from "../../../shared/kv/value_codec.ts";
import type { KvHandle } from "../../../shared/kv/handle.ts";
import { decodeKey, encodeKey } from "../../../shared/kv/key_codec.ts";
import { PagedListing, type PageRange } from "../../../shared/kv/listing.ts";
import { historyKind, PgDayTables, recordDay, selectorSource } from "./history_tables.ts";
import type { HistoryKind } from "../capabilities.ts";

/** A connection pool of the `postgres` client. */
export type Sql = postgres.Sql;

interface Row {
  key: Uint8Array;
  value: Encoded;
  version: string;
}

const LIVE = "(expires_at IS NULL OR expires_at > now())";
const stamp = (version: string | bigint) => BigInt(version).toString(16).padStart(20, "0");
const unstamp = (versionstamp: string) => BigInt(`0x${versionstamp}`).toString();
const entry = <T>(row: Row): Deno.KvEntry<T> => ({
  key: decodeKey(row.key),
  value: decodeValue(row.value) as T,
  versionstamp: stamp(row.version),
});
const u64 = (n: bigint) => JSON.stringify(encodeValue(new Deno.KvU64(n)));

/** One page of a listing: `kv`, the history's day tables, or both, as the selector asks. */
async function readPage(sql: Sql, source: "kv" | "all" | HistoryKind, range: PageRange) {
  const { take } = range;
  const where = sql`${range.after ? sql`key > ${range.from}` : sql`key >= ${range.from}`}
    AND key < ${range.to} AND ${sql.unsafe(LIVE)}`;
  const order = sql.unsafe(range.reverse ? "DESC" : "ASC");
  // A key written again under another day has an older row there: the newest version wins.
  const history = (kind: HistoryKind | null) =>
    sql`SELECT DISTINCT ON (key) key, value, version FROM kv_history
      WHERE ${kind === null ? sql`TRUE` : sql`kind = ${kind}`} AND ${where}
      ORDER BY key ${order}, version DESC LIMIT ${take}`;
  const plain = sql`SELECT key, value, version FROM kv WHERE ${where}
    ORDER BY key ${order} LIMIT ${take}`;
  return source === "kv" ? await sql<Row[]>`${plain}` : source === "all"
    ? await sql<Row[]>`
        SELECT * FROM ((${plain}) UNION ALL (${history(null)})) AS both_tables
        ORDER BY key ${order} LIMIT ${take}`
    : await sql<Row[]>`${history(source)}`;
}

interface Op {
  t: "set" | "delete" | "sum" | "min" | "max";
  k: string;
  /** The value's tagged JSON, taken when it is set (as Deno KV serializes it then). */
  v?: string;
  e?: number | null;
  /** A history key's kind, and for a set the day it is filed under. */
  h?: HistoryKind;
  d?: string;
}

/** Ranges read by one statement of {@linkcode PgKv.lastOfRanges}. */
const RANGES_A_STATEMENT = 500;

/** PostgreSQL's error for a row with no table of its day (a day dropped meanwhile). */
const NO_PARTITION = "23514";

/** An atomic commit, sent as one call of `kv_commit`. */
class PgAtomic {
  #sql: Sql;
  #days: PgDayTables;
  #checks: { k: string; v: string | null; h?: HistoryKind }[] = [];
  #ops: Op[] = [];

  constructor(sql: Sql, days: PgDayTables) {
    this.#sql = sql;
    this.#days = days;
  }

  check(...checks: Deno.AtomicCheck[]): this {
    for (const { key, versionstamp } of checks) {
      const h = historyKind(key);
      this.#checks.push({
        k: encodeKey(key).toHex(),
        v: versionstamp === null ? null : unstamp(versionstamp),
        ...(h === null ? {} : { h }),
      });
    }
    return this;
  }

  mutate(...mutations: Deno.KvMutation[]): this {
    for (const mutation of mutations) {
      if (mutation.type === "set") this.set(mutation.key, mutation.value, mutation);
      else if (mutation.type === "delete") this.delete(mutation.key);
      else this.#u64(mutation.type, mutation.key, mutation.value.value);
    }
    return this;
  }

  #u64(t: "sum" | "min" | "max", key: Deno.KvKey, n: bigint): this {
    if (historyKind(key) !== null) {
      throw new TypeError(`${t} on a history key (${JSON.stringify(key[0])}) is not supported`);
    }
    this.#ops.push({ t, k: encodeKey(key).toHex(), v: u64(n) });
    return this;
  }

  sum(key: Deno.KvKey, n: bigint): this {
    return this.#u64("sum", key, n);
  }

  min(key: Deno.KvKey, n: bigint): this {
    return this.#u64("min", key, n);
  }

  max(key: Deno.KvKey, n: bigint): this {
    return this.#u64("max", key, n);
  }

  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this {
    const h = historyKind(key);
    this.#ops.push({
      t: "set",
      k: encodeKey(key).toHex(),
      v: JSON.stringify(encodeValue(value)),
      e: options?.expireIn ?? null,
      ...(h === null ? {} : { h, d: recordDay(key, value) }),
    });
    return this;
  }

  delete(key: Deno.KvKey): this {
    const h = historyKind(key);
    this.#ops.push({ t: "delete", k: encodeKey(key).toHex(), ...(h === null ? {} : { h }) });
    return this;
  }

  enqueue(): this {
    throw new Error("KV queues are not used by the collector and not supported on PostgreSQL");
  }

  async commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    const checks = this.#checks;
    const ops = this.#ops;
    const days = ops.flatMap((op) =>
      op.d === undefined ? [] : [[op.h!, op.d] as [HistoryKind, string]]
    );
    for (let attempt = 1;; attempt++) {
      await this.#days.ensure(days);
      try {
        const [row] = await this.#sql<{ version: string | null }[]>`
          SELECT kv_commit(
            ${checks.map((c) => c.k)}::text[], ${checks.map((c) => c.v)}::bigint[],
            ${checks.map((c) => c.h ?? null)}::text[],
            ${ops.map((op) => op.t)}::text[], ${ops.map((op) => op.k)}::text[],
            ${ops.map((op) => op.v ?? null)}::text[],
            ${ops.map((op) => op.e ?? null)}::bigint[], ${ops.map((op) => op.h ?? null)}::text[],
            ${ops.map((op) => op.d ?? null)}::date[]
          ) AS version`;
        return row.version === null
          ? { ok: false }
          : { ok: true, versionstamp: stamp(row.version) };
      } catch (error) {
        // Another replica's retention dropped a day this process thought it had: make it again.
        if ((error as { code?: string }).code !== NO_PARTITION || attempt > 1) throw error;
        this.#days.forget();
      }
    }
  }
}

/** What the collector uses of `Deno.Kv`, on PostgreSQL. */
export class PgKv implements KvHandle {
  #sql: Sql;
  #closing: Promise<void> | null = null;
  /** A record is gone once its `expireIn` passed, by the database's clock (`expiresExactly`). */
  readonly expiresExactly = true;
  /** One commit holds any number of writes (`capabilities.ts`). */
  readonly unboundedAtomics = true;
  /** The history's day tables (`capabilities.ts`). */
  readonly dayTables: PgDayTables;

  /** Uses the pool `sql` (migrated: see `migrate.ts`); `close` ends it. */
  constructor(sql: Sql) {
    this.#sql = sql;
    this.dayTables = new PgDayTables(sql);
  }

  /** The pool, for the tables beside `kv`. */
  get sql(): Sql {
    return this.#sql;
  }

  async get<T = unknown>(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<T>> {
    const [found] = await this.#read([encodeKey(key)], historyKind(key));
    return found === undefined ? { key, value: null, versionstamp: null } : entry<T>(found);
  }

  /** The live rows of `keys`, all in `kv` or all of one history kind (newest version each). */
  async #read(keys: Uint8Array[], kind: HistoryKind | null): Promise<Row[]> {
    const wanted = this.#sql`(SELECT decode(k, 'hex') FROM unnest(${
      keys.map((key) => key.toHex())
    }::text[]) AS k)`;
    return kind === null
      ? await this.#sql<Row[]>`
          SELECT key, value, version FROM kv
          WHERE key IN ${wanted} AND ${this.#sql.unsafe(LIVE)}`
      : await this.#sql<Row[]>`
          SELECT DISTINCT ON (key) key, value, version FROM kv_history
          WHERE kind = ${kind} AND key IN ${wanted} AND ${this.#sql.unsafe(LIVE)}
          ORDER BY key, version DESC`;
  }

  async getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    const encoded = keys.map((key) => encodeKey(key as Deno.KvKey));
    const byKind = new Map<HistoryKind | null, Uint8Array[]>();
    keys.forEach((key, i) => {
      const kind = historyKind(key as Deno.KvKey);
      byKind.set(kind, [...byKind.get(kind) ?? [], encoded[i]]);
    });
    const rows = (await Promise.all([...byKind].map(([kind, some]) => this.#read(some, kind))))
      .flat();
    const found = new Map(rows.map((row) => [new Uint8Array(row.key).toHex(), row]));
    const entries = keys.map((key, i) => {
      const row = found.get(encoded[i].toHex());
      return row === undefined ? { key, value: null, versionstamp: null } : entry(row);
    });
    return entries as { [K in keyof T]: Deno.KvEntryMaybe<T[K]> };
  }

  async set(
    key: Deno.KvKey,
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<Deno.KvCommitResult> {
    return await new PgAtomic(this.#sql, this.dayTables).set(key, value, options)
      .commit() as Deno.KvCommitResult;
  }

  async delete(key: Deno.KvKey): Promise<void> {
    await new PgAtomic(this.#sql, this.dayTables).delete(key).commit();
  }

  list<T = unknown>(
    selector: Deno.KvListSelector,
    options: Deno.KvListOptions = {},
  ): Deno.KvListIterator<T> {
    const source = selectorSource(selector);
    const sql = this.#sql;
    return new PagedListing<T, Row>(
      selector,
      options,
      (range) => readPage(sql, source, range),
      entry<T>,
    ) as unknown as Deno.KvListIterator<T>;
  }

  atomic(): Deno.AtomicOperation {
    return new PgAtomic(this.#sql, this.dayTables) as unknown as Deno.AtomicOperation;
  }

  /**
   * The last `limit` live entries of each of `ranges`, last first: what `list(range, { reverse:
   * true, limit })` gives for each, read for up to {@linkcode RANGES_A_STATEMENT} ranges in one
   * statement instead of one round trip each (a pass of the uptime cache reads 10,000 scripts'
   * state changes). The ranges must all be in `kv` or all of one history kind.
   */
  async lastOfRanges<T>(
    ranges: readonly { start: Deno.KvKey; end: Deno.KvKey }[],
    limit: number,
  ): Promise<Deno.KvEntry<T>[][]> {
    const sources = new Set(ranges.map(selectorSource));
    const [source] = sources;
    if (sources.size > 1 || source === "all") {
      throw new RangeError(
        `lastOfRanges reads ranges of one table at a time, got ${[...sources].join(", ")}`,
      );
    }
    const out = ranges.map((): Deno.KvEntry<T>[] => []);
    const sql = this.#sql;
    const within = sql`key >= r.lo AND key < r.hi AND ${sql.unsafe(LIVE)}`;
    const last = source === "kv"
      ? sql`SELECT key, value, version FROM kv WHERE ${within} ORDER BY key DESC LIMIT ${limit}`
      : sql`SELECT DISTINCT ON (key) key, value, version FROM kv_history
          WHERE kind = ${source} AND ${within} ORDER BY key DESC, version DESC LIMIT ${limit}`;
    for (let first = 0; first < ranges.length; first += RANGES_A_STATEMENT) {
      const some = ranges.slice(first, first + RANGES_A_STATEMENT);
      const rows = await sql<(Row & { i: string })[]>`
        SELECT r.i, x.key, x.value, x.version
        FROM (SELECT decode(lo, 'hex') AS lo, decode(hi, 'hex') AS hi, i
          FROM unnest(${some.map((r) => encodeKey(r.start).toHex())}::text[],
            ${some.map((r) => encodeKey(r.end).toHex())}::text[]) WITH ORDINALITY AS u(lo, hi, i)
        ) AS r
        CROSS JOIN LATERAL (${last}) AS x
        ORDER BY r.i, x.key DESC`;
      for (const row of rows) out[first + Number(row.i) - 1].push(entry<T>(row));
    }
    return out;
  }

  /** Deletes up to `limit` expired records; returns how many. */
  async tidy(limit = 10_000): Promise<number> {
    const rows = await this.#sql`
      DELETE FROM kv WHERE key IN (
        SELECT key FROM kv WHERE expires_at <= now() LIMIT ${limit})`;
    return rows.count;
  }

  /** Deletes every expired record, `batch` at a time (at most 1,000 batches a call); returns how many. */
  async tidyAll(batch = 10_000): Promise<number> {
    let total = 0;
    for (let round = 0; round < 1000; round++) {
      const removed = await this.tidy(batch);
      total += removed;
      if (removed < batch) break;
    }
    return total;
  }

  /** Starts closing the pool (see {@linkcode PgKv.closed}). */
  close(): void {
    this.#closing ??= this.#sql.end({ timeout: 5 });
  }

  /** Closes the pool once its queries are done (at most 5 s). */
  closed(): Promise<void> {
    this.close();
    return this.#closing!;
  }
}

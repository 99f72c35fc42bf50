/**
 * The agent's store: what it uses of `Deno.Kv` (get, getMany, set, delete, list, atomic with
 * checks and u64 sums, `expireIn`) on one SQLite file through `node:sqlite`.
 *
 * Why not a Deno KV file: Deno KV runs SQLite on a thread of its own that wakes every two
 * seconds or so (queue keep-alive and expiry timers) even when nothing is stored, which was
 * most of an idle agent's wake-ups (bench/README.md). Here every call runs on the caller's
 * thread and nothing runs between calls.
 *
 * Keys sort as in KV (`key_codec.ts`), values are tagged JSON (`value_codec.ts`), versionstamps
 * come from one counter bumped by every commit. A commit is one `BEGIN IMMEDIATE` transaction:
 * serialised with every other process writing the file (they wait up to 5 s for each other), and
 * on disk before it returns (WAL, `synchronous = FULL`, as Deno KV). A record whose `expireIn` has
 * passed is not returned (`expiresExactly`) and is deleted by a later commit.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { KvHandle } from "./handle.ts";
import { decodeKey, encodeKey } from "./key_codec.ts";
import { PagedListing, type PageRange } from "./listing.ts";
import { decodeValue, type Encoded, encodeValue } from "./value_codec.ts";

/** How long a commit waits for another process's write to finish. */
const BUSY_TIMEOUT_MS = 5000;
/** Expired records are deleted this many a commit, at most once this often while fewer are due. */
const SWEEP_EVERY_MS = 60_000;
const SWEEP_BATCH = 500;
const U64_MASK = 0xffff_ffff_ffff_ffffn;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kv (
    key BLOB PRIMARY KEY,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE IF NOT EXISTS kv_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT OR IGNORE INTO kv_meta (name, value) VALUES ('version', 0);
`;

interface Row {
  key: Uint8Array;
  value: string;
  version: number;
}

const stamp = (version: number) => version.toString(16).padStart(20, "0");
const entry = <T>(row: Row): Deno.KvEntry<T> => ({
  key: decodeKey(row.key),
  value: decodeValue(JSON.parse(row.value) as Encoded) as T,
  versionstamp: stamp(row.version),
});

type Op =
  | { type: "set"; key: Uint8Array; json: string; expireIn?: number }
  | { type: "delete"; key: Uint8Array }
  | { type: "sum" | "min" | "max"; key: Uint8Array; n: bigint };

/** The statements a store prepares once. */
class Statements {
  readonly get: StatementSync;
  readonly version: StatementSync;
  readonly upsert: StatementSync;
  readonly delete: StatementSync;
  readonly bump: StatementSync;
  readonly sweep: StatementSync;
  readonly pages: Record<"asc" | "desc", Record<"from" | "after", StatementSync>>;

  constructor(db: DatabaseSync) {
    const live = "(expires_at IS NULL OR expires_at > :now)";
    this.get = db.prepare(`SELECT key, value, version FROM kv WHERE key = :key AND ${live}`);
    this.version = db.prepare(`SELECT version FROM kv WHERE key = :key AND ${live}`);
    this.upsert = db.prepare(
      `INSERT INTO kv (key, value, version, expires_at) VALUES (:key, :value, :version, :expires)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
         expires_at = excluded.expires_at`,
    );
    this.delete = db.prepare("DELETE FROM kv WHERE key = :key");
    this.bump = db.prepare(
      "UPDATE kv_meta SET value = value + 1 WHERE name = 'version' RETURNING value",
    );
    this.sweep = db.prepare(
      `DELETE FROM kv WHERE key IN (
         SELECT key FROM kv WHERE expires_at <= :now LIMIT ${SWEEP_BATCH})`,
    );
    const page = (order: "ASC" | "DESC", lower: ">" | ">=") =>
      db.prepare(
        `SELECT key, value, version FROM kv
         WHERE key ${lower} :from AND key < :to AND ${live}
         ORDER BY key ${order} LIMIT :take`,
      );
    this.pages = {
      asc: { from: page("ASC", ">="), after: page("ASC", ">") },
      desc: { from: page("DESC", ">="), after: page("DESC", ">") },
    };
  }
}

/** An atomic commit: checks and mutations kept until `commit`, then one transaction. */
class SqliteAtomic {
  #kv: SqliteKv;
  #checks: { key: Uint8Array; versionstamp: string | null }[] = [];
  #ops: Op[] = [];

  constructor(kv: SqliteKv) {
    this.#kv = kv;
  }

  check(...checks: Deno.AtomicCheck[]): this {
    for (const { key, versionstamp } of checks) {
      this.#checks.push({ key: encodeKey(key), versionstamp });
    }
    return this;
  }

  mutate(...mutations: Deno.KvMutation[]): this {
    for (const mutation of mutations) {
      switch (mutation.type) {
        case "set":
          this.set(mutation.key, mutation.value, mutation);
          break;
        case "delete":
          this.delete(mutation.key);
          break;
        case "sum":
        case "min":
        case "max":
          this.#ops.push({
            type: mutation.type,
            key: encodeKey(mutation.key),
            n: mutation.value.value,
          });
          break;
        default:
          throw new TypeError(
            `The mutation "${
              (mutation as { type: string }).type
            }" is not supported by the agent's store`,
          );
      }
    }
    return this;
  }

  sum(key: Deno.KvKey, n: bigint): this {
    this.#ops.push({ type: "sum", key: encodeKey(key), n });
    return this;
  }

  min(key: Deno.KvKey, n: bigint): this {
    this.#ops.push({ type: "min", key: encodeKey(key), n });
    return this;
  }

  max(key: Deno.KvKey, n: bigint): this {
    this.#ops.push({ type: "max", key: encodeKey(key), n });
    return this;
  }

  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this {
    // Encoded now, as KV serialises at the call: a value changed afterwards is not what is stored.
    const encoded = JSON.stringify(encodeValue(value));
    this.#ops.push({
      type: "set",
      key: encodeKey(key),
      json: encoded,
      expireIn: options?.expireIn,
    });
    return this;
  }

  delete(key: Deno.KvKey): this {
    this.#ops.push({ type: "delete", key: encodeKey(key) });
    return this;
  }

  enqueue(): this {
    throw new Error("KV queues are not used by the agent and not supported by its SQLite store");
  }

  commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    try {
      return Promise.resolve(this.#kv.commitNow(this.#checks, this.#ops));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** The next value of a u64 mutation (KV's rules: sums wrap, an absent value is just `n`). */
function u64After(type: "sum" | "min" | "max", current: unknown, n: bigint): Deno.KvU64 {
  if (current === undefined) return new Deno.KvU64(n);
  if (!(current instanceof Deno.KvU64)) {
    throw new TypeError(`Failed to perform '${type}' mutation on a non-U64 value in the database`);
  }
  const was = current.value;
  const next = type === "sum"
    ? (was + n) & U64_MASK
    : type === "min"
    ? (was < n ? was : n)
    : (was > n ? was : n);
  return new Deno.KvU64(next);
}

/** What the agent uses of `Deno.Kv`, on a SQLite file (`:memory:` for tests). */
export class SqliteKv implements KvHandle {
  #db: DatabaseSync;
  #statements: Statements;
  #lastSweep = 0;
  /** A record is gone as soon as its `expireIn` has passed (`KvHandle`'s `expiresExactly`). */
  readonly expiresExactly = true;

  /** Opens (creating) the store at `path`. */
  constructor(path: string) {
    this.#db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    this.#db.exec(SCHEMA);
    this.#statements = new Statements(this.#db);
  }

  get<T = unknown>(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<T>> {
    const row = this.#statements.get.get({ key: encodeKey(key), now: Date.now() }) as
      | Row
      | undefined;
    return Promise.resolve(
      row === undefined ? { key, value: null, versionstamp: null } : entry<T>(row),
    );
  }

  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    const now = Date.now();
    const entries = keys.map((key) => {
      const row = this.#statements.get.get({ key: encodeKey(key as Deno.KvKey), now }) as
        | Row
        | undefined;
      return row === undefined ? { key, value: null, versionstamp: null } : entry(row);
    });
    return Promise.resolve(entries as { [K in keyof T]: Deno.KvEntryMaybe<T[K]> });
  }

  async set(
    key: Deno.KvKey,
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<Deno.KvCommitResult> {
    return await new SqliteAtomic(this).set(key, value, options).commit() as Deno.KvCommitResult;
  }

  async delete(key: Deno.KvKey): Promise<void> {
    await new SqliteAtomic(this).delete(key).commit();
  }

  list<T = unknown>(
    selector: Deno.KvListSelector,
    options: Deno.KvListOptions = {},
  ): Deno.KvListIterator<T> {
    const s = this.#statements;
    const readPage = (range: PageRange) =>
      s.pages[range.reverse ? "desc" : "asc"][range.after ? "after" : "from"].all({
        from: range.from,
        to: range.to,
        now: Date.now(),
        take: range.take,
      }) as unknown as Row[];
    return new PagedListing<T, Row>(
      selector,
      options,
      readPage,
      entry<T>,
    ) as unknown as Deno.KvListIterator<T>;
  }

  atomic(): Deno.AtomicOperation {
    return new SqliteAtomic(this) as unknown as Deno.AtomicOperation;
  }

  /** Runs one commit now (`SqliteAtomic.commit`). */
  commitNow(
    checks: { key: Uint8Array; versionstamp: string | null }[],
    ops: Op[],
  ): Deno.KvCommitResult | Deno.KvCommitError {
    const s = this.#statements;
    const now = Date.now();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const check of checks) {
        const row = s.version.get({ key: check.key, now }) as { version: number } | undefined;
        if ((row === undefined ? null : stamp(row.version)) !== check.versionstamp) {
          this.#db.exec("ROLLBACK");
          return { ok: false };
        }
      }
      const { value: version } = s.bump.get() as { value: number };
      for (const op of ops) {
        if (op.type === "delete") s.delete.run({ key: op.key });
        else {
          const value = op.type === "set" ? op.json : JSON.stringify(encodeValue(
            u64After(op.type, this.#current(op.key, now), op.n),
          ));
          const expires: SQLInputValue = op.type === "set" && op.expireIn !== undefined
            ? now + op.expireIn
            : null;
          s.upsert.run({ key: op.key, value, version, expires });
        }
      }
      if (now - this.#lastSweep >= SWEEP_EVERY_MS) {
        // A full batch means more are due: the next commit sweeps again, so that expiring records
        // made faster than a batch a minute are still deleted as fast as they come.
        if (Number(s.sweep.run({ now }).changes) < SWEEP_BATCH) this.#lastSweep = now;
      }
      this.#db.exec("COMMIT");
      return { ok: true, versionstamp: stamp(version) };
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** The live value at `key` inside the open transaction, `undefined` when there is none. */
  #current(key: Uint8Array, now: number): unknown {
    const row = this.#statements.get.get({ key, now }) as Row | undefined;
    return row === undefined ? undefined : decodeValue(JSON.parse(row.value) as Encoded);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

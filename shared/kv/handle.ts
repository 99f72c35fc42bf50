/**
 * What the programs and the notification outbox use of `Deno.Kv`: a Deno KV
 * file is one, and so are the collector's PostgreSQL store (`collector/store/postgres/`) and the
 * agent's SQLite file (`sqlite_kv.ts`).
 *
 * @module
 */

/** The part of `Deno.Kv` the code uses: no queues, no watches. */
export type KvHandle = Pick<
  Deno.Kv,
  "get" | "getMany" | "set" | "delete" | "list" | "atomic" | "close"
>;

/**
 * Whether `kv` hides a record as soon as its `expireIn` has passed, by the store's own clock (the
 * PostgreSQL store, judged by the database's clock). A Deno KV file removes expired records
 * lazily: there the expiry must also be kept in the value and compared.
 */
export function expiresExactly(kv: KvHandle): boolean {
  return (kv as { expiresExactly?: boolean }).expiresExactly === true;
}

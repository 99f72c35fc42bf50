/**
 * Key-value stores with Deno KV's contract: the handle both programs use (`handle.ts`), the
 * agent's SQLite store (`sqlite_kv.ts`), and the key and value encodings the SQL-backed stores
 * share (the collector's PostgreSQL store is in collector/store/postgres/).
 *
 * @module
 */

export { expiresExactly } from "./handle.ts";
export type { KvHandle } from "./handle.ts";
export { decodeKey, encodeKey } from "./key_codec.ts";
export { PagedListing, type PageRange } from "./listing.ts";
export { compareBytes, fromBase64url, listRange, toBase64url } from "./selector.ts";
export { SqliteKv } from "./sqlite_kv.ts";
export { decodeValue, type Encoded, encodeValue } from "./value_codec.ts";

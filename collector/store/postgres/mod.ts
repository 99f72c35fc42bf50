/**
 * The collector's store on PostgreSQL: the key-value table every replica
 * shares (`pg_kv.ts`), its schema migrations (`migrate.ts`, `migrations/`),
 * and opening a pool from a `postgres://` URL (`open.ts`).
 *
 * @module
 */

export { loadMigrations, migrate, SchemaTooNewError } from "./migrate.ts";
export type { MigrateResult, Migration } from "./migrate.ts";
export { PgKv } from "./pg_kv.ts";
export type { Sql } from "./pg_kv.ts";
export { openPostgres, pool, redactUrl } from "./open.ts";
export type { OpenPostgresOptions } from "./open.ts";

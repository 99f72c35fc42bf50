/**
 * Schema migrations: the numbered SQL files of `migrations/` (`0001_kv.sql`,
 * ...), each applied once, in order, in its own transaction, and recorded in
 * `scriptmon_migrations`. Every collector runs them on start under one
 * advisory lock, so replicas starting together apply each file once.
 *
 * @module
 */

import type { Sql } from "./pg_kv.ts";

/** One migration file. */
export interface Migration {
  version: number;
  /** The file name. */
  name: string;
  sql: string;
}

/** What {@linkcode migrate} did (or, with `dryRun`, would do). */
export interface MigrateResult {
  /** The schema version before. */
  from: number;
  /** The migrations applied (or pending, with `dryRun`), in order. */
  applied: Migration[];
}

/** The database was migrated by a newer collector than this one. */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
}

/** The advisory lock (two-int form: class, object) held while migrating. */
const LOCK_CLASS = 0x5c417;
const LOCK_MIGRATE = 1;

const FOLDER = new URL("./migrations/", import.meta.url);

/** The migration files, in order. */
export async function loadMigrations(): Promise<Migration[]> {
  const out: Migration[] = [];
  for await (const entry of Deno.readDir(FOLDER)) {
    const match = /^(\d{4})_[a-z0-9_]+\.sql$/.exec(entry.name);
    if (!entry.isFile || match === null) continue;
    out.push({
      version: Number(match[1]),
      name: entry.name,
      sql: await Deno.readTextFile(new URL(entry.name, FOLDER)),
    });
  }
  out.sort((a, b) => a.version - b.version);
  out.forEach((migration, i) => {
    if (migration.version !== i + 1) {
      throw new Error(
        `Migration ${migration.name} should be number ${i + 1}: numbers run 1, 2, 3...`,
      );
    }
  });
  return out;
}

/**
 * Applies the migrations the database lacks (none with `dryRun`: it reports them).
 *
 * @throws {SchemaTooNewError} when the database has a version this collector does not know.
 */
export async function migrate(
  sql: Sql,
  options: { dryRun?: boolean; migrations?: Migration[] } = {},
): Promise<MigrateResult> {
  const migrations = options.migrations ?? await loadMigrations();
  const connection = await sql.reserve();
  try {
    await connection`SELECT pg_advisory_lock(${LOCK_CLASS}, ${LOCK_MIGRATE})`;
    try {
      await connection`SET client_min_messages = warning`;
      await connection`
        CREATE TABLE IF NOT EXISTS scriptmon_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`;
      const [{ current }] = await connection<{ current: number | null }[]>`
        SELECT max(version) AS current FROM scriptmon_migrations`;
      const from = current ?? 0;
      const known = migrations.at(-1)?.version ?? 0;
      if (from > known) {
        throw new SchemaTooNewError(
          `The database's schema is at version ${from}, newer than this collector knows ` +
            `(up to ${known}): run the newer collector, or restore a backup into an empty database`,
        );
      }
      const pending = migrations.filter((migration) => migration.version > from);
      if (options.dryRun) return { from, applied: pending };
      for (const migration of pending) {
        await connection`BEGIN`;
        try {
          await connection.unsafe(migration.sql).simple();
          await connection`
            INSERT INTO scriptmon_migrations (version, name)
            VALUES (${migration.version}, ${migration.name})`;
          await connection`COMMIT`;
        } catch (error) {
          await connection`ROLLBACK`;
          throw new Error(`Migration ${migration.name} failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
      return { from, applied: pending };
    } finally {
      await connection`SELECT pg_advisory_unlock(${LOCK_CLASS}, ${LOCK_MIGRATE})`;
    }
  } finally {
    connection.release();
  }
}

/**
 * Opening the PostgreSQL store from `[collector] store = "postgres://..."`:
 * a pool, the schema brought up to date, the key-value handle.
 *
 * @module
 */

import postgres from "postgres";
import { getLogger } from "@logtape/logtape";
import { migrate, type MigrateResult } from "./migrate.ts";
import { PgKv, type Sql } from "./pg_kv.ts";

const log = getLogger(["scriptmon", "collector", "store"]);

/** What {@linkcode openPostgres} takes. */
export interface OpenPostgresOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Seconds to wait for a connection before failing (default 10). */
  connectTimeout?: number;
  /** Apply pending migrations (default true); false: fail when the schema is behind. */
  migrate?: boolean;
}

/** `url` with its password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

/** A pool on `url`; nothing is sent until the first query. */
export function pool(url: string, options: OpenPostgresOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 10,
    idle_timeout: 60,
    // Warnings only (a migration's, say); migrate() keeps the chattier notices away.
    onnotice: (notice) => {
      if (notice.severity === "WARNING") log.warn("PostgreSQL: {message}", { ...notice });
    },
    // Timestamps and big numbers stay as PostgreSQL prints them; the store converts what it reads.
    types: {},
  });
}

/**
 * Connects to `url`, applies the schema migrations it lacks, and returns the store's handle.
 *
 * @throws {Error} naming the database (password hidden) when it cannot be reached or migrated.
 */
export async function openPostgres(
  url: string,
  options: OpenPostgresOptions = {},
): Promise<{ kv: PgKv; migrated: MigrateResult }> {
  const sql = pool(url, options);
  try {
    const migrated = await migrate(sql, { dryRun: options.migrate === false });
    if (options.migrate === false && migrated.applied.length > 0) {
      throw new Error(
        `the schema is at version ${migrated.from}, ${migrated.applied.length} migration(s) behind: ` +
          `run \`scriptmon-collector migrate\``,
      );
    }
    return { kv: new PgKv(sql), migrated };
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw new Error(
      `Cannot open the PostgreSQL store ${redactUrl(url)}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * The two store backends for contract tests: each `testOnStores` test runs on a
 * Deno KV in memory and on a fresh PostgreSQL database (tests/_postgres.ts).
 * A file that uses it ends with `stopTestStores()`.
 */
import type { KvHandle } from "../shared/mod.ts";
import { openPostgres, type PgKv } from "../collector/store/postgres/mod.ts";
import { SqliteKv } from "../shared/kv/mod.ts";
import { postgresMissing, startTestPostgres, type TestPostgres } from "./_postgres.ts";

const missing = postgresMissing();
// CI installs PostgreSQL: there a missing server fails instead of skipping.
if (missing !== null && Deno.env.get("SCRIPTMON_REQUIRE_POSTGRES")) throw new Error(missing);

let server: Promise<TestPostgres> | null = null;
const open: PgKv[] = [];

/** The URL of a fresh, empty database (not migrated). */
export async function pgDatabaseUrl(): Promise<string> {
  server ??= startTestPostgres();
  return await (await server).database();
}

/** A fresh, migrated PostgreSQL store (a database of its own). */
export async function openPgStore(options: { max?: number } = {}): Promise<PgKv> {
  server ??= startTestPostgres();
  const url = await (await server).database();
  const { kv } = await openPostgres(url, { max: options.max ?? 4 });
  open.push(kv);
  return kv;
}

/** Closes a store `openPgStore` opened (its pool's connections). */
export async function closePg(kv: PgKv): Promise<void> {
  open.splice(open.indexOf(kv), 1);
  await kv.closed();
}

/** Two stores on one database, as two collector replicas see it. */
export async function openPgReplicas(): Promise<[PgKv, PgKv]> {
  server ??= startTestPostgres();
  const url = await (await server).database();
  const a = (await openPostgres(url, { max: 4 })).kv;
  const b = (await openPostgres(url, { max: 4 })).kv;
  open.push(a, b);
  return [a, b];
}

/** Why the PostgreSQL variant of a test is skipped, or null when it runs. */
export const postgresSkipped: string | null = missing;

/** One backend of the contract. */
export interface StoreBackend {
  name: "Deno KV" | "PostgreSQL" | "SQLite";
  ignore: boolean;
  open(): Promise<KvHandle>;
}

/** The collector's two stores. */
export const STORE_BACKENDS: StoreBackend[] = [
  { name: "Deno KV", ignore: false, open: () => Deno.openKv(":memory:") },
  { name: "PostgreSQL", ignore: missing !== null, open: () => openPgStore() },
];

/** The agent's store (`shared/kv/sqlite_kv.ts`), for the contract every store keeps. */
export const SQLITE_BACKEND: StoreBackend = {
  name: "SQLite",
  ignore: false,
  open: () => Promise.resolve(new SqliteKv(":memory:")),
};

/** Registers `name` once per backend, as "<name> [Deno KV]" and "<name> [PostgreSQL]". */
export function testOnStores(
  name: string,
  fn: (kv: KvHandle, backend: StoreBackend["name"]) => Promise<void>,
  backends: StoreBackend[] = STORE_BACKENDS,
): void {
  for (const backend of backends) {
    Deno.test({
      name: `${name} [${backend.name}]`,
      ignore: backend.ignore,
      // The PostgreSQL server (and its admin connection) lives until the file's last test.
      sanitizeResources: backend.name !== "PostgreSQL",
      sanitizeOps: backend.name !== "PostgreSQL",
      fn: async () => {
        const kv = await backend.open();
        try {
          await fn(kv, backend.name);
        } finally {
          if (backend.name === "PostgreSQL") await closePg(kv as PgKv);
          else kv.close();
        }
      },
    });
  }
}

/** The file's last test: closes the pools and stops the server this file started. */
export function stopTestStores(): void {
  Deno.test({
    name: "(stores closed)",
    ignore: missing !== null,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await Promise.all(open.splice(0).map((kv) => kv.closed()));
      if (server !== null) await (await server).stop();
      server = null;
    },
  });
}

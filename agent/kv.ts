/**
 * Opens the agent's store: `agent.sqlite` in the data folder (`shared/kv/sqlite_kv.ts`). An
 * agent before this store kept the same records in a Deno KV file, `agent.kv`: the first start
 * copies them over (outbox, events, tokens, silences) and removes the old file.
 *
 * @module
 */

import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { SqliteKv } from "../shared/kv/sqlite_kv.ts";

const log = getLogger(["scriptmon", "agent"]);

/** The store's file in the data folder. */
export const STORE_FILE = "agent.sqlite";
/** The Deno KV file an older agent kept its records in. */
const OLD_STORE_FILE = "agent.kv";
/** Records copied per commit when moving an old store. */
const COPY_BATCH = 200;

/** Opens (creating) the store file at `path`. */
export function openKv(path: string): Promise<SqliteKv> {
  try {
    return Promise.resolve(new SqliteKv(path));
  } catch (error) {
    return Promise.reject(
      new Error(`Cannot open the agent's store ${path}: ${(error as Error).message}`, {
        cause: error,
      }),
    );
  }
}

/** Opens the store of the data folder `dataDir`, first moving an older agent's `agent.kv` into it. */
export async function openAgentStore(dataDir: string): Promise<SqliteKv> {
  const path = join(dataDir, STORE_FILE);
  const old = join(dataDir, OLD_STORE_FILE);
  if (!(await exists(path)) && await exists(old)) await moveOldStore(old, path);
  return await openKv(path);
}

/** A key part as the error says it (a bigint or bytes cannot go through JSON). */
function keyPart(part: Deno.KvKeyPart): string {
  return typeof part === "string" ? JSON.stringify(part) : String(part);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Copies every record of the Deno KV file `from` into a new store at `to`, written beside it and
 * renamed into place once whole; then removes `from`. A copy cut short leaves `from` as it was.
 * Expiry times are not readable from Deno KV: records that had one are copied without it.
 * Silences and dedupe claims carry their own time and are judged by it; remote commands' answers
 * (a day's record of what was done) are simply kept.
 */
async function moveOldStore(from: string, to: string): Promise<void> {
  const partial = `${to}.partial`;
  // A copy cut short leaves its journal files too: replayed onto a new copy they would corrupt it.
  for (const file of [partial, `${partial}-wal`, `${partial}-shm`]) {
    await Deno.remove(file).catch(() => {});
  }
  let source: Deno.Kv;
  try {
    source = await Deno.openKv(from);
  } catch (error) {
    throw new Error(`Cannot read the old store ${from}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const target = new SqliteKv(partial);
  let copied = 0;
  try {
    let batch: Deno.KvEntry<unknown>[] = [];
    const flush = async () => {
      const op = target.atomic();
      for (const entry of batch) {
        try {
          op.set(entry.key, entry.value);
        } catch (error) {
          throw new Error(
            `Cannot move the record [${entry.key.map(keyPart).join(", ")}] of ${from}: ${
              (error as Error).message
            }`,
            { cause: error },
          );
        }
      }
      await op.commit();
      copied += batch.length;
      batch = [];
    };
    for await (const entry of source.list({ prefix: [] })) {
      batch.push(entry);
      if (batch.length >= COPY_BATCH) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    source.close();
    target.close(); // the last connection: its write-ahead log is folded into the file
  }
  await Deno.rename(partial, to);
  for (const file of [from, `${from}-wal`, `${from}-shm`]) await Deno.remove(file).catch(() => {});
  log.info("Moved {count} records from {from} to {to}", { count: copied, from, to });
}

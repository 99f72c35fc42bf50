/** Opens the collector's KV file in its data folder (creating the folder). */
import { join } from "node:path";
import { retryLocked } from "./kv_retry.ts";

/** The KV file inside `dataDir`. */
export function kvPath(dataDir: string): string {
  return join(dataDir, "collector.kv");
}

/** Opens (creating when missing) the collector's KV in `dataDir`, retrying "database is locked". */
export async function openCollectorKv(dataDir: string): Promise<Deno.Kv> {
  await Deno.mkdir(dataDir, { recursive: true });
  return await retryLocked(() => Deno.openKv(kvPath(dataDir)));
}

/**
 * Opens the store `[collector] store` names: the Deno KV file in `data_dir`
 * (`"kv"`, the default) or a PostgreSQL database (a `postgres://` URL), whose
 * schema is brought up to date first.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { openCollectorKv } from "./kv.ts";
import { openPostgres, redactUrl } from "./postgres/mod.ts";

/** Where a collector's store lives (`ResolvedCollectorConfig.store`). */
export type StoreLocation = { kind: "kv" } | { kind: "postgres"; url: string };

/** An open store. */
export interface OpenedStore {
  kv: KvHandle;
  /** For messages: the KV file, or the database URL without its password. */
  description: string;
  /** Closes it once pending work is done. */
  close(): Promise<void>;
}

/** Opens the store at `location` (`dataDir` holds the KV file). */
export async function openStore(
  location: StoreLocation,
  dataDir: string,
  options: { migrate?: boolean } = {},
): Promise<OpenedStore> {
  if (location.kind === "kv") {
    const kv = await openCollectorKv(dataDir);
    return {
      kv,
      description: `the KV file in ${dataDir}`,
      close: () => Promise.resolve(kv.close()),
    };
  }
  const { kv } = await openPostgres(location.url, options);
  return { kv, description: redactUrl(location.url), close: () => kv.closed() };
}

/** Runs `fn` on the store `config` names, closing it after (for the CLI's one-shot commands). */
export async function withKv<T>(
  config: { store: StoreLocation; dataDir: string },
  fn: (kv: KvHandle) => Promise<T>,
): Promise<T> {
  const opened = await openStore(config.store, config.dataDir);
  try {
    return await fn(opened.kv);
  } finally {
    await opened.close();
  }
}

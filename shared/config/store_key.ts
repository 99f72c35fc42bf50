/**
 * The key a program keeps its stored secrets under: its `enc:v1:` key when one
 * is configured (`SCRIPTMON_SECRET_KEY` or `..._FILE`; collector replicas
 * sharing a database need that, so that each opens what another sealed), else
 * a key file in its data dir, made on first use, readable only by its user.
 * The collector seals central config documents with it, the agent the central
 * config it keeps for starting while the collector is away.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { type ConfigFiles, loadSecretKey } from "./config_file.ts";
import { generateKey, parseKey } from "./secrets.ts";

/** The key file's name in the data dir. */
export const STORE_KEY_FILE = "store.key";

/** The file functions the key needs (Deno's). */
export interface KeyFiles extends ConfigFiles {
  readTextFile(path: string): Promise<string>;
  writeTextFile(
    path: string,
    text: string,
    options: { mode: number; createNew: boolean },
  ): Promise<void>;
  mkdir(path: string, options: { recursive: boolean }): Promise<void>;
}

/**
 * The key in `path`, made (mode 0600) when there is none; a key made by
 * another process at the same moment wins.
 *
 * @throws {SecretError} when the file holds no valid key, naming it.
 */
export async function ensureKeyFile(path: string, files: KeyFiles): Promise<Uint8Array> {
  try {
    return parseKey(await files.readTextFile(path), `key file "${path}"`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await files.mkdir(dirname(path), { recursive: true });
  try {
    await files.writeTextFile(path, `${generateKey()}\n`, { mode: 0o600, createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  return parseKey(await files.readTextFile(path), `key file "${path}"`);
}

/** The configured `enc:v1:` key, else the one in `dataDir`'s key file (made when missing). */
export async function storeKey(dataDir: string, files: KeyFiles): Promise<Uint8Array> {
  return await loadSecretKey(files) ?? await ensureKeyFile(join(dataDir, STORE_KEY_FILE), files);
}

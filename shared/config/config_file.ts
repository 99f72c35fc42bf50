/**
 * Reading a config file, the same in both programs: its text (a file that
 * cannot be read is a {@linkcode ConfigError} naming it), and the key of its
 * `enc:v1:` values, looked for only when the file needs one (a bad key file
 * elsewhere is no problem). The program passes its file and key reading in.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import { needsKey, SecretError } from "./secrets.ts";

/** How the program reads files and its key. */
export interface ConfigFileIo {
  readTextFile(path: string): Promise<string>;
  /** The key from the environment (`vars`), or null (see `resolveSecretKey`). */
  loadKey(vars: Readonly<Record<string, string | undefined>>): Promise<Uint8Array | null>;
}

/** The config's text and, when it needs one, its key. */
export async function readConfigFile(
  path: string,
  options: {
    vars?: Readonly<Record<string, string | undefined>>;
    secretKey?: Uint8Array | null;
  },
  io: ConfigFileIo,
): Promise<{ text: string; secretKey: Uint8Array | null }> {
  let text: string;
  try {
    text = await io.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "not found"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new ConfigError([{ path: "", message: `cannot read config file "${path}": ${why}` }], {
      file: path,
      cause: error,
    });
  }
  const vars = options.vars ?? Deno.env.toObject();
  let secretKey = options.secretKey ?? null;
  if (secretKey === null && needsKey(text, vars)) {
    try {
      secretKey = await io.loadKey(vars);
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      throw new ConfigError([{ path: "", message: error.message }], { file: path, cause: error });
    }
  }
  return { text, secretKey };
}

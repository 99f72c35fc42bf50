/**
 * Reading a config file, the same in both programs: its text, whichever
 * encoding and line ends an editor saved it with (`config_text.ts`; a file that
 * cannot be read is a {@linkcode ConfigError} naming it), and the key of its
 * `enc:v1:` values, looked for only when the file needs one (a bad key file
 * elsewhere is no problem). The program passes its file system in: `Deno`
 * itself, or a fake in tests.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import { decodeConfigText } from "./config_text.ts";
import { needsKey, resolveSecretKey, SecretError } from "./secrets.ts";

/** What reading a config and its key needs of the file system; `Deno` has it all. */
export interface ConfigFiles {
  /** The config file's bytes (its text is decoded by its byte order mark). */
  readFile(path: string): Promise<Uint8Array>;
  readTextFile(path: string): Promise<string>;
  /** `mode`: the permission bits a key file is checked for (not on Windows). */
  stat(path: string): Promise<{ mode: number | null }>;
  build: { os: string };
}

/**
 * The `enc:v1:` key named by `vars` (`SCRIPTMON_SECRET_KEY`, or the file
 * `SCRIPTMON_SECRET_KEY_FILE` names), or null when none is configured.
 *
 * @throws {SecretError} naming the variable or file and what is wrong with it.
 */
export function loadSecretKey(
  files: ConfigFiles,
  vars: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): Promise<Uint8Array | null> {
  return resolveSecretKey({
    env: (name) => vars[name],
    readFile: (path) => files.readTextFile(path),
    fileMode: async (path) => files.build.os === "windows" ? null : (await files.stat(path)).mode,
  });
}

/** The config's text (LF line ends, no byte order mark) and, when it needs one, its key. */
export async function readConfigFile(
  path: string,
  options: {
    vars?: Readonly<Record<string, string | undefined>>;
    secretKey?: Uint8Array | null;
  },
  files: ConfigFiles,
): Promise<{ text: string; secretKey: Uint8Array | null }> {
  let text: string;
  try {
    text = decodeConfigText(await files.readFile(path));
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
      secretKey = await loadSecretKey(files, vars);
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      throw new ConfigError([{ path: "", message: error.message }], { file: path, cause: error });
    }
  }
  return { text, secretKey };
}

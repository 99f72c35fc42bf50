/**
 * The agent's `enc:v1:` key, from `SCRIPTMON_SECRET_KEY` or the key file
 * `SCRIPTMON_SECRET_KEY_FILE` names (see shared/config/secrets.ts).
 *
 * @module
 */

import { resolveSecretKey } from "../../shared/config/secrets.ts";

/** The key, or null when none is configured; `vars` default to the environment. */
export function loadSecretKey(
  vars: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): Promise<Uint8Array | null> {
  return resolveSecretKey({
    env: (name) => vars[name],
    readFile: (path) => Deno.readTextFile(path),
    fileMode: async (path) => Deno.build.os === "windows" ? null : (await Deno.stat(path)).mode,
  });
}

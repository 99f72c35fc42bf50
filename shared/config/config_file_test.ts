import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { type ConfigFiles, loadSecretKey, readConfigFile } from "./config_file.ts";
import { generateKey, parseKey } from "./secrets.ts";
import { clearSecrets } from "../redact.ts";

/** Files in memory, with their permission bits, on a pretend `os`. */
function files(
  entries: Record<string, { text: string; mode: number }>,
  os = "linux",
): ConfigFiles {
  const get = (path: string) => {
    const file = entries[path];
    if (file === undefined) return Promise.reject(new Deno.errors.NotFound(`no ${path}`));
    return Promise.resolve(file);
  };
  return {
    readTextFile: async (path) => (await get(path)).text,
    stat: async (path) => ({ mode: (await get(path)).mode }),
    build: { os },
  };
}

Deno.test("readConfigFile() names a file it cannot find", async () => {
  await assert.rejects(readConfigFile("/etc/none.toml", { vars: {} }, files({})), {
    name: "ConfigError",
    message: '/etc/none.toml: cannot read config file "/etc/none.toml": not found',
  });
});

Deno.test("readConfigFile() loads the key only for a config that has an enc:v1: value", async () => {
  clearSecrets();
  const key = generateKey();
  const fs = files({
    "/plain.toml": { text: 'url = "https://x"', mode: 0o100644 },
    "/sealed.toml": { text: 'url = "enc:v1:abc"', mode: 0o100644 },
    "/key": { text: key, mode: 0o100600 },
  });
  const vars = { SCRIPTMON_SECRET_KEY_FILE: "/key" };
  assert.equal((await readConfigFile("/plain.toml", { vars }, fs)).secretKey, null);
  assert.deepEqual(
    (await readConfigFile("/sealed.toml", { vars }, fs)).secretKey,
    parseKey(key, ""),
  );
  clearSecrets();
});

Deno.test("loadSecretKey() refuses a key file others may read, except on Windows", async () => {
  clearSecrets();
  const key = generateKey();
  const open = { "/key": { text: key, mode: 0o100644 } };
  const vars = { SCRIPTMON_SECRET_KEY_FILE: "/key" };
  await assert.rejects(loadSecretKey(files(open), vars), /may be read by others \(mode 644\)/);
  assert.deepEqual(await loadSecretKey(files(open, "windows"), vars), parseKey(key, ""));
  assert.equal(await loadSecretKey(files(open), {}), null);
  clearSecrets();
});

Deno.test("readConfigFile() turns a bad key into a ConfigError naming the variable", async () => {
  const fs = files({ "/sealed.toml": { text: 'url = "enc:v1:abc"', mode: 0o100644 } });
  await assert.rejects(
    readConfigFile("/sealed.toml", { vars: { SCRIPTMON_SECRET_KEY: "short" } }, fs),
    (error) => error instanceof ConfigError && /SCRIPTMON_SECRET_KEY/.test(error.message),
  );
});

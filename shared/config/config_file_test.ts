import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { type ConfigFiles, loadSecretKey, readConfigFile } from "./config_file.ts";
import { generateKey, parseKey } from "./secrets.ts";
import { join } from "node:path";
import { clearSecrets } from "../redact.ts";

/** Runs `fn` in a fresh temp folder, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

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
    readFile: async (path) => new TextEncoder().encode((await get(path)).text),
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

Deno.test("readConfigFile() reads a file Notepad saved (UTF-8 BOM, CRLF) as the plain one", () =>
  inTempDir(async (dir) => {
    const plain = join(dir, "plain.toml");
    const notepad = join(dir, "notepad.toml");
    const text = '[agent]\nsite = "FC1"\nnote = """two\nlines"""\n';
    await Deno.writeTextFile(plain, text);
    await Deno.writeTextFile(notepad, `\uFEFF${text.replaceAll("\n", "\r\n")}`);
    const read = await readConfigFile(notepad, { vars: {} }, Deno);
    assert.equal(read.text, (await readConfigFile(plain, { vars: {} }, Deno)).text);
    assert.equal(read.text, text);
  }));

Deno.test('readConfigFile() reads UTF-16 with a byte order mark (Notepad\'s "Unicode")', () =>
  inTempDir(async (dir) => {
    const units = [...'[agent]\r\nsite = "Zürich"\r\n'].map((char) => char.charCodeAt(0));
    const le = join(dir, "le.toml");
    const be = join(dir, "be.toml");
    await Deno.writeFile(
      le,
      new Uint8Array([0xff, 0xfe, ...units.flatMap((u) => [u & 0xff, u >> 8])]),
    );
    await Deno.writeFile(
      be,
      new Uint8Array([0xfe, 0xff, ...units.flatMap((u) => [u >> 8, u & 0xff])]),
    );
    assert.equal((await readConfigFile(le, { vars: {} }, Deno)).text, '[agent]\nsite = "Zürich"\n');
    assert.equal((await readConfigFile(be, { vars: {} }, Deno)).text, '[agent]\nsite = "Zürich"\n');
  }));

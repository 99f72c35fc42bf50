import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { lines, notepad, ROOT } from "../../shared/agent_config/_testing.ts";
import { ConfigError, loadConfig } from "./load.ts";

Deno.test("loadConfig() names the path of a missing file", async () => {
  const path = join(ROOT, "no-such-config.toml");
  await assert.rejects(() => loadConfig(path), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `${path}: cannot read config file "${path}": not found`);
    assert.ok(error.cause instanceof Deno.errors.NotFound);
    return true;
  });
});

Deno.test("loadConfig() loads a file Notepad saved (BOM, CRLF) exactly like the plain file", async () => {
  await using dir = await tempDir();
  const text = lines(
    "[agent]",
    'site = "FC1"',
    "[scripts.rates]",
    'command = """python3',
    'rates.py"""',
    "cwd = 'C:\\fc\\scripts'",
  );
  await Deno.writeTextFile(join(dir.path, "plain.toml"), text);
  await Deno.writeTextFile(join(dir.path, "notepad.toml"), notepad(text));
  const plain = await loadConfig(join(dir.path, "plain.toml"), { vars: {} });
  const saved = await loadConfig(join(dir.path, "notepad.toml"), { vars: {} });
  assert.deepEqual({ ...saved, path: "" }, { ...plain, path: "" });
  assert.deepEqual(saved.scripts.rates.command, ["python3", "rates.py"]);
  assert.equal(saved.scripts.rates.cwd, "C:\\fc\\scripts");
});

Deno.test("loadConfig() names line 3 for a bad value on line 3 of a BOM and CRLF file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "scriptmon.toml");
  await Deno.writeTextFile(path, notepad(lines("[agent]", 'site = "FC1"', 'api_port = "x"')));
  await assert.rejects(loadConfig(path, { vars: {} }), {
    name: "ConfigError",
    message: `${path}:3: agent.api_port: expected a number, got "x"`,
  });
  await Deno.writeTextFile(path, notepad(lines("[agent]", 'site = "FC1"', "api_port = = 1")));
  await assert.rejects(loadConfig(path, { vars: {} }), {
    name: "ConfigError",
    message: `${path}:3: invalid TOML: invalid value (column 12)`,
  });
});

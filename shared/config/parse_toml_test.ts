import assert from "node:assert/strict";
import { TomlError } from "smol-toml";
import { ConfigError } from "./config_error.ts";
import { parseToml } from "./parse_toml.ts";

Deno.test("parseToml() returns the tables of valid text", () => {
  const tables = parseToml('[agent]\nsite = "FC1"\n', "x.toml");
  assert.deepEqual(JSON.parse(JSON.stringify(tables)), { agent: { site: "FC1" } });
});

Deno.test("parseToml() throws a ConfigError at the line and column of a syntax error", () => {
  assert.throws(() => parseToml('[agent]\nsite = "FC1"\napi_port = = 1\n', "x.toml"), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(error.cause instanceof TomlError);
    assert.equal(error.message, "x.toml:3: invalid TOML: invalid value (column 12)");
    return true;
  });
});

Deno.test("parseToml() reads text saved by Notepad (BOM, CRLF) as the same text without", () => {
  const text = '[agent]\nsite = "FC1"\nnote = """two\nlines"""\n';
  const notepad = `\uFEFF${text.replaceAll("\n", "\r\n")}`;
  assert.deepEqual(parseToml(notepad, "x.toml"), parseToml(text, "x.toml"));
});

Deno.test("parseToml() names line and column of a syntax error in a BOM and CRLF file", () => {
  assert.throws(() => parseToml('\uFEFF[agent]\r\nsite = "FC1"\r\napi_port = = 1\r\n', "x.toml"), {
    name: "ConfigError",
    message: "x.toml:3: invalid TOML: invalid value (column 12)",
  });
});

Deno.test("parseToml() names the key of a Windows path that is no TOML escape and says how to write it", () => {
  const text = '\uFEFF[scripts.rates]\r\ncommand = "python"\r\ncwd = "C:\\fc\\scripts"\r\n';
  assert.throws(() => parseToml(text, "x.toml"), {
    name: "ConfigError",
    message:
      "x.toml:3: scripts.rates.cwd: invalid TOML: unrecognised escape sequence (column 14); " +
      "in a double-quoted string a backslash starts an escape, so a Windows path cannot be " +
      "written \"C:\\fc\\scripts\": write 'C:\\fc\\scripts' (single quotes keep backslashes) or " +
      '"C:/fc/scripts"',
  });
});

Deno.test("parseToml() hints at a trailing backslash, a \\U path and a %VAR% in a quoted path", () => {
  const message = (text: string) => {
    try {
      parseToml(text, "x.toml");
    } catch (error) {
      return (error as Error).message;
    }
    assert.fail("expected a ConfigError");
  };
  assert.match(message('cwd = "C:\\fc\\"\nx = 1\n'), /^x\.toml:1: cwd: .*write 'C:\\fc\\' /);
  assert.match(
    message('[s]\ncommand = ["py", "C:\\Users\\ann\\x.py"]\n'),
    /^x\.toml:2: s\.command: invalid TOML: invalid non-hex character in unicode escape/,
  );
  assert.match(
    message('data_dir = "%LOCALAPPDATA%\\scriptmon"\n'),
    /write '\$\{LOCALAPPDATA\}\\scriptmon' .* \(a variable in a config is \$\{NAME\}, not %NAME%\)$/,
  );
});

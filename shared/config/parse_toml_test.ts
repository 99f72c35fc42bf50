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

import assert from "node:assert/strict";
import { ConfigError, type ConfigIssue, parseConfig } from "./parse.ts";

const FILE = "/etc/scriptmon/config.toml";
const SCRIPT = '[scripts.token_monitor]\ncommand = ["python", "token_monitor.py"]\n';

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, { path: FILE, vars: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail("expected a ConfigError, got a valid config");
}

Deno.test("a cookie token resolves with the documented defaults", () => {
  const config = parseConfig(
    SCRIPT + [
      "[tokens.midway]",
      'format = "cookie"',
      'file = "cookies/midway"',
      'cookie = "session"',
      'used_by = ["token_monitor"]',
      "[tokens.midway.validate]",
      'url = "https://sso.example/whoami"',
      'cookie = "session"',
      "[tokens.midway.refresh]",
      'command = "mwinit --non-interactive"',
    ].join("\n"),
    { path: FILE, vars: {} },
  );
  assert.deepEqual(config.tokens.midway, {
    name: "midway",
    format: "cookie",
    file: "/etc/scriptmon/cookies/midway",
    cookie: "session",
    cwd: "/etc/scriptmon",
    warnBeforeMs: [4 * 3600_000, 3600_000, 900_000],
    usedBy: ["token_monitor"],
    checkIntervalMs: 60_000,
    validate: {
      kind: "http",
      url: "https://sso.example/whoami",
      method: "GET",
      cookie: "session",
      prefix: "",
      status: 200,
      intervalMs: 300_000,
      timeoutMs: 10_000,
    },
    refresh: {
      command: ["mwinit", "--non-interactive"],
      cwd: "/etc/scriptmon",
      timeoutMs: 120_000,
      beforeMs: 1_800_000,
      minDelayMs: 30_000,
      maxDelayMs: 1_800_000,
    },
  });
});

Deno.test("a token config names the field path, line and value of each mistake", () => {
  const issues = issuesOf(
    SCRIPT + [
      "[tokens.midway]", // line 3
      'format = "cookie"',
      'file = "cookies/midway"',
      'warn_before = ["4h", "soon"]',
      'used_by = ["token_monitr"]',
      "[tokens.api]", // line 8
      'format = "exec"',
      'command = ["print-expiry"]',
      "[tokens.api.validate]",
      'url = "https://api.example/"',
    ].join("\n"),
  );
  assert.deepEqual(issues, [
    {
      path: "tokens.midway.cookie",
      line: 3,
      message: 'expected cookie with format "cookie", got none',
    },
    {
      path: "tokens.midway.warn_before.1",
      line: 6,
      message: 'expected a duration like "30s", "5m" or "1h30m", got "soon"',
    },
    {
      path: "tokens.api.validate.url",
      line: 12,
      message:
        'expected an exec validation (command) with format "exec" (it reads no value to send), got url',
    },
  ]);
});

Deno.test("used_by must name a configured script", () => {
  const issues = issuesOf(
    SCRIPT + '[tokens.midway]\nformat = "jwt"\nfile = "t.jwt"\nused_by = ["token_monitr"]\n',
  );
  assert.deepEqual(issues, [{
    path: "tokens.midway.used_by.0",
    line: 6,
    message:
      'expected the name of a script in [scripts], got "token_monitr" (known: token_monitor)',
  }]);
});

Deno.test("config.example.toml documents every token key", async () => {
  const { tokenRefreshSchema, tokenSchema, tokenValidateSchema } = await import(
    "./token_schema.ts"
  );
  const text = await Deno.readTextFile(new URL("../../config.example.toml", import.meta.url));
  const keys = new Set([
    ...Object.keys(tokenSchema.shape).filter((k) => k !== "validate" && k !== "refresh"),
    ...Object.keys(tokenValidateSchema.shape),
    ...Object.keys(tokenRefreshSchema.shape),
  ]);
  for (const key of keys) {
    assert.match(text, new RegExp(`^#? ?${key} = `, "m"), `${key} is documented`);
  }
});

Deno.test("an unknown key in a token table is refused with a hint", () => {
  const issues = issuesOf(
    '[tokens.x]\nformat = "jwt"\nfile = "a"\nwarn_befor = ["1h"]\n' +
      '[tokens.x.refresh]\ncommand = "renew"\nmagic = true\n',
  );
  assert.deepEqual(issues, [
    {
      path: "tokens.x.warn_befor",
      line: 4,
      message: 'unknown key "warn_befor"; did you mean "warn_before"?',
    },
    {
      path: "tokens.x.refresh.magic",
      line: 7,
      message:
        'unknown key "magic"; expected one of command, cwd, timeout, before, min_delay, max_delay',
    },
  ]);
});

import assert from "node:assert/strict";
import { parseToml } from "../config/parse_toml.ts";
import { pinnedKeysIn } from "./layers.ts";
import { ConfigError } from "./parse.ts";
import { FILE, issuesOf, lines, parse } from "./_testing.ts";

const CENTRAL = "central config v12 (site FC1)";

const LOCAL = lines(
  "[agent]", //                             1
  'site = "FC1"', //                        2
  "[scripts.rates]", //                     3
  'command = ["python3", "rates.py"]', //   4
  'stop_timeout = "10s"', //                5
  "[env.dev.scripts.rates]", //             6
  'stop_timeout = "5s"', //                 7
  "enabled = false", //                     8
);

/** The error `parse()` must throw. */
function errorOf(text: string, options: Parameters<typeof parse>[1]): ConfigError {
  try {
    parse(text, options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error;
  }
  assert.fail("expected a ConfigError, got a valid config");
}

Deno.test("parseConfig() merges layers in order over the file and its overlay, but not their [agent], [collector] or [env]", () => {
  const fleet = {
    name: "central config v3 (fleet)",
    text: lines(
      "[agent]",
      'site = "HQ"',
      "api_port = 1234",
      "[collector]",
      'url = "https://collector.example/"',
      'token = "t"',
      "[env.dev.scripts.rates]",
      "enabled = true",
      "[scripts.rates]",
      'stop_timeout = "20s"',
      "[scripts.report]",
      'command = "report.sh"',
      'cwd = "reports"',
    ),
  };
  const site = {
    name: CENTRAL,
    text: lines("[scripts.rates]", 'stop_timeout = "30s"', 'command = ["python3", "rates2.py"]'),
  };
  const config = parse(LOCAL, { envName: "dev", layers: [fleet, site] });
  assert.equal(config.agent.site, "FC1");
  assert.equal(config.agent.apiPort, 8791);
  assert.equal(config.collector, undefined);
  assert.equal(config.scripts.rates.stopTimeoutMs, 30_000, "the last layer wins");
  assert.deepEqual(config.scripts.rates.command, ["python3", "rates2.py"]);
  assert.equal(
    config.scripts.rates.enabled,
    false,
    "the file's overlay stays; the layer's [env] is ignored",
  );
  assert.deepEqual(Object.keys(config.scripts), ["rates", "report"]);
  assert.equal(
    config.scripts.report.cwd,
    "/etc/scriptmon/reports",
    "relative to the file's folder",
  );
  assert.equal(parse(LOCAL, { layers: [fleet] }).scripts.rates.stopTimeoutMs, 20_000);
});

Deno.test("parseConfig() names the layer and its line for a bad value the layer set", () => {
  const layer = {
    name: CENTRAL,
    text: lines("[scripts.rates.restart]", 'max_delay = "soon"', "[scripts.rates]", "keep = 1"),
  };
  const error = errorOf(LOCAL, { layers: [layer] });
  assert.equal(
    error.message,
    [
      `${CENTRAL}:2: scripts.rates.restart.max_delay: expected a duration like "30s", "5m" or "1h30m", got "soon"`,
      `${CENTRAL}:4: scripts.rates.keep: unknown key "keep"; expected one of enabled, stop_signal, stop_timeout, timezone, restart, log, command, cwd, env, schedule, heartbeat_timeout, grace, heartbeat_file, heartbeat_action, silence_timeout, silence_action, probes, limits, singleton, active, off_hours, relax_factor, skip_on, anomalies, replicas`,
    ].join("\n"),
  );
  assert.deepEqual(error.issues.map((issue) => [issue.file, issue.line]), [[CENTRAL, 2], [
    CENTRAL,
    4,
  ]]);
});

Deno.test("parseConfig() names the layer that set a value last, and the file for a value no layer set", () => {
  const text = LOCAL.replace('stop_timeout = "10s"', 'stop_timeout = "soon"') +
    lines("[scripts.rates.restart]", 'max_delay = "later"');
  const first = { name: "v1", text: lines("[scripts.rates]", 'stop_timeout = "ten"') };
  const second = { name: "v2", text: lines("", "[scripts.rates]", 'stop_timeout = "eleven"') };
  assert.deepEqual(issuesOf(text, { layers: [first, second] }), [
    {
      path: "scripts.rates.restart.max_delay",
      line: 10,
      message: 'expected a duration like "30s", "5m" or "1h30m", got "later"',
    },
    {
      path: "scripts.rates.stop_timeout",
      line: 3,
      file: "v2",
      message: 'expected a duration like "30s", "5m" or "1h30m", got "eleven"',
    },
  ]);
});

Deno.test("parseConfig() names the file first, then each layer, for problems in both", () => {
  const text = lines("[agent]", "api_port = 70000") + LOCAL.slice(LOCAL.indexOf("[scripts"));
  const layer = { name: CENTRAL, text: lines("[scripts.rates]", 'stop_signal = "TERM"') };
  assert.equal(
    errorOf(text, { layers: [layer] }).message,
    [
      `${FILE}:2: agent.api_port: expected a number <= 65535, got 70000`,
      `${CENTRAL}:2: scripts.rates.stop_signal: expected one of "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "ctrl-c", "ctrl-break", "terminate", got "TERM"`,
    ].join("\n"),
  );
});

Deno.test("parseConfig() reports a layer's TOML syntax error at the layer's name and line", () => {
  const layer = { name: CENTRAL, text: lines("[scripts.rates]", "stop_timeout = = 1") };
  const error = errorOf(LOCAL, { layers: [{ name: "v1", text: "" }, layer] });
  assert.equal(error.message, `${CENTRAL}:2: invalid TOML: invalid value (column 16)`);
  assert.deepEqual(error.issues, [{
    path: "",
    line: 2,
    file: CENTRAL,
    message: "invalid TOML: invalid value (column 16)",
  }]);
});

Deno.test("parseConfig() points at the layer's lines inside an array the layer replaced", () => {
  const layer = { name: CENTRAL, text: lines("[scripts.rates]", "", 'command = ["", "x"]') };
  assert.deepEqual(issuesOf(LOCAL, { layers: [layer] }), [{
    path: "scripts.rates.command",
    line: 3,
    file: CENTRAL,
    message: 'expected a non-empty command, got ["","x"]',
  }]);
});

Deno.test("pinnedKeysIn() lists a layer's [agent], [collector] and [env] tables", () => {
  const tree = parseToml(lines("[env.dev]", "[agent]", 'site = "x"', "[scripts.a]"), CENTRAL);
  assert.deepEqual(pinnedKeysIn(tree), ["agent", "env"]);
  assert.deepEqual(pinnedKeysIn(parseToml(lines("[scripts.a]"), CENTRAL)), []);
});

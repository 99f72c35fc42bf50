import assert from "node:assert/strict";
import { encryptSecret, generateKey, parseKey } from "../config/secrets.ts";
import { checkConfigLayers } from "./check_layers.ts";
import { lines } from "./_testing.ts";

const NAME = "central config v12 (site FC1)";

const layer = (...rows: string[]) => [{ name: NAME, text: lines(...rows) }];

Deno.test("checkConfigLayers() finds a bad duration at the layer's line", () => {
  const issues = checkConfigLayers(layer(
    "[scripts.rates]",
    'command = ["python3", "rates.py"]',
    "",
    "[scripts.rates.restart]",
    'max_delay = "soon"',
  ));
  assert.deepEqual(issues, [{
    path: "scripts.rates.restart.max_delay",
    line: 5,
    file: NAME,
    message: 'expected a duration like "30s", "5m" or "1h30m", got "soon"',
  }]);
});

Deno.test("checkConfigLayers() accepts a valid layer", () => {
  assert.deepEqual(checkConfigLayers(layer("[scripts.rates]", 'command = "rates.sh"')), []);
  assert.deepEqual(checkConfigLayers([]), []);
});

Deno.test("checkConfigLayers() takes an unset ${VAR} as unknown, not as a problem, and leaves its value unchecked", () => {
  const issues = checkConfigLayers(layer(
    "[scripts.rates]",
    'command = ["${PYTHON}", "rates.py"]',
    'stop_timeout = "${SOME_UNSET_VAR}"',
    'env = { TOKEN = "${SOME_UNSET_VAR}" }',
    "[[scripts.rates.probes]]",
    'kind = "http"',
    'url = "${HEALTH_URL}"',
  ));
  assert.deepEqual(issues, []);
});

Deno.test("checkConfigLayers() still checks a ${VAR} with a fallback, and a variable it is given", () => {
  const issues = checkConfigLayers(
    layer(
      "[scripts.rates]",
      'command = "rates.sh"',
      'stop_timeout = "${STOP:-soon}"',
      'stop_signal = "${SIGNAL}"',
    ),
    { vars: { SIGNAL: "TERM" } },
  );
  assert.deepEqual(issues.map((issue) => [issue.path, issue.line]), [
    ["scripts.rates.stop_timeout", 3],
    ["scripts.rates.stop_signal", 4],
  ]);
});

Deno.test("checkConfigLayers() accepts an enc:v1: value without a key, and refuses one the given key cannot open", () => {
  const sealed = encryptSecret(
    "https://hooks.slack.com/services/T0/B0/x",
    parseKey(generateKey(), "t"),
  );
  const webhook = layer("[webhooks.ops]", 'kind = "slack"', `url = "${sealed}"`);
  assert.deepEqual(checkConfigLayers(webhook), []);
  assert.deepEqual(checkConfigLayers(webhook, { secretKey: null }), []);
  const other = parseKey(generateKey(), "t");
  assert.deepEqual(checkConfigLayers(webhook, { secretKey: other }), [{
    path: "webhooks.ops.url",
    line: 3,
    file: NAME,
    message: "cannot decrypt the enc:v1: value: it was made with another key, or it was changed",
  }]);
});

Deno.test("checkConfigLayers() ignores a layer's [agent], [collector] and [env] tables", () => {
  const issues = checkConfigLayers(layer(
    "[agent]",
    "api_port = 99999",
    "[collector]",
    'url = "ftp://x"',
    "[env.dev.scripts.x]",
    "command = []",
  ));
  assert.deepEqual(issues, []);
});

Deno.test('checkConfigLayers() checks over an agent that has a [collector] table: singleton = "site" is fine', () => {
  const issues = checkConfigLayers(
    layer("[scripts.rates]", 'command = "rates.sh"', 'singleton = "site"', "replicas = 2"),
  );
  assert.deepEqual(issues, []);
});

Deno.test("checkConfigLayers() reads no holidays_file: its holidays count as none", () => {
  const issues = checkConfigLayers(layer(
    "[calendars.fc]",
    'holidays_file = "/no/such/holidays.ics"',
    "[scripts.rates]",
    'command = "rates.sh"',
    'active = "fc"',
  ));
  assert.deepEqual(issues, []);
});

Deno.test("checkConfigLayers() reports a layer's syntax error and a cross-field problem at their lines", () => {
  assert.deepEqual(checkConfigLayers(layer("[scripts.rates", 'command = "x"')), [{
    path: "",
    line: 1,
    file: NAME,
    message: "invalid TOML: illegal character in key (column 15)",
  }]);
  const issues = checkConfigLayers(layer(
    "[scripts.rates]",
    'command = "rates.sh"',
    "[scripts.rates.restart]",
    'min_delay = "1m"',
    'max_delay = "10s"',
  ));
  assert.deepEqual(issues, [{
    path: "scripts.rates.restart.max_delay",
    line: 5,
    file: NAME,
    message: 'expected max_delay >= min_delay (1m), got "10s"',
  }]);
});

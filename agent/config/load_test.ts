import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, type ConfigIssue, envNameFrom, loadConfig, parseConfig } from "./load.ts";
import {
  agentSchema,
  collectorSchema,
  limitsSchema,
  logSchema,
  PROBE_SCHEMAS,
  restartSchema,
  scriptSchema,
} from "./schema.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = join(ROOT, "config.example.toml");
const FILE = "/etc/scriptmon/config.toml";

function parse(text: string, options: { envName?: string; vars?: Record<string, string> } = {}) {
  return parseConfig(text, { path: FILE, vars: {}, ...options });
}

/** The issues of the ConfigError that `text` must raise. */
function issuesOf(
  text: string,
  options: { envName?: string; vars?: Record<string, string> } = {},
): ConfigIssue[] {
  try {
    parse(text, options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail("expected a ConfigError, got a valid config");
}

function lines(...rows: string[]): string {
  return rows.join("\n") + "\n";
}

const SCRIPT = lines("[scripts.rates]", 'command = ["python3", "rates.py"]');

// --- config.example.toml -------------------------------------------------

Deno.test("config.example.toml loads without --env and resolves the Windows scripts", async () => {
  const config = await loadConfig(EXAMPLE, { vars: {} });
  assert.equal(config.path, EXAMPLE);
  assert.equal(config.envName, undefined);
  assert.deepEqual(config.agent, {
    site: "BFI4",
    host: Deno.hostname(),
    dataDir: join(ROOT, "scriptmon-data"),
    logDir: join(ROOT, "scriptmon-data", "logs"),
    apiPort: 8791,
    logLevel: "info",
    sampleIntervalMs: 10_000,
    diskWarnBytes: 500_000_000,
  });
  assert.deepEqual(Object.keys(config.scripts), ["token_monitor", "rates", "daily_report"]);
  assert.deepEqual(config.scripts.token_monitor, {
    name: "token_monitor",
    command: ["python", "token_monitor.py"],
    cwd: "C:/fc/scripts",
    env: { FC: "BFI4", CHIME_WEBHOOK: "" },
    enabled: true,
    restart: {
      policy: "on-failure",
      minDelayMs: 1_000,
      maxDelayMs: 120_000,
      multiplier: 2,
      jitter: 0.2,
      resetAfterMs: 600_000,
      maxRestarts: 10,
      windowMs: 600_000,
    },
    stopSignal: "SIGINT",
    stopTimeoutMs: 15_000,
    log: { maxSizeBytes: 50_000_000, maxAgeMs: 86_400_000, keep: 10 },
    health: { probes: [] },
  });
  assert.deepEqual(config.scripts.rates.command, [
    "python",
    "rates.py",
    "--queue",
    "inbound dock",
    "--every",
    "60",
  ]);
  assert.equal(config.scripts.rates.env.RATES_LABEL, "${not interpolated}");
  assert.deepEqual(config.scripts.rates.health, {
    heartbeat: {
      timeoutMs: 120_000,
      graceMs: 30_000,
      file: join(ROOT, "rates.heartbeat"),
      action: { alert: true, restart: false },
    },
    silence: { timeoutMs: 600_000, action: { alert: true, restart: true } },
    probes: [
      {
        kind: "http",
        name: "api",
        url: "http://127.0.0.1:8080/health",
        method: "GET",
        status: 200,
        body: "ok",
        intervalMs: 30_000,
        timeoutMs: 5_000,
        failures: 3,
        action: { alert: true, restart: false },
      },
      {
        kind: "tcp",
        name: "tcp-2",
        host: "127.0.0.1",
        port: 5432,
        intervalMs: 30_000,
        timeoutMs: 5_000,
        failures: 3,
        action: { alert: true, restart: false },
      },
      {
        kind: "exec",
        name: "exec-3",
        command: ["python", "check_rates.py"],
        cwd: "C:/fc/scripts",
        intervalMs: 60_000,
        timeoutMs: 20_000,
        failures: 3,
        action: { alert: true, restart: true },
      },
    ],
    limits: {
      memoryWarnBytes: 200_000_000,
      memoryRestartBytes: 300_000_000,
      cpuWarnPercent: 80,
      cpuRestartPercent: 95,
      samples: 3,
    },
  });
  assert.deepEqual(config.scripts.daily_report.schedule, {
    cron: "0 7 * * 1-5",
    timezone: "America/Los_Angeles",
  });
});

Deno.test("config.example.toml with --env demo runs only the shell demos from scripts/demo", async () => {
  const config = await loadConfig(EXAMPLE, { envName: "demo", vars: {} });
  assert.equal(config.envName, "demo");
  assert.equal(config.agent.site, "DEMO1");
  assert.equal(config.agent.dataDir, join(ROOT, ".demo-data", "agent1"));
  assert.equal(config.agent.logDir, join(ROOT, ".demo-data", "agent1", "logs"));
  const enabled = Object.values(config.scripts).filter((script) => script.enabled);
  assert.deepEqual(enabled.map((script) => [script.name, script.command, script.cwd]), [
    ["demo_rates", ["sh", "rate_watcher.sh"], join(ROOT, "scripts", "demo")],
    ["demo_token", ["sh", "token_monitor.sh"], join(ROOT, "scripts", "demo")],
    ["demo_flaky", ["sh", "flaky.sh"], join(ROOT, "scripts", "demo")],
  ]);
  for (const script of enabled) {
    const file = join(script.cwd, script.command[1]);
    assert.ok((await Deno.stat(file)).isFile, `${file} exists`);
  }
  assert.equal(config.scripts.demo_flaky.restart.maxDelayMs, 8_000);
  assert.equal(config.scripts.demo_flaky.restart.maxRestarts, 5);
  assert.deepEqual(
    enabled.map((script) => [script.name, script.health]),
    [
      ["demo_rates", {
        silence: { timeoutMs: 30_000, action: { alert: true, restart: false } },
        probes: [],
      }],
      ["demo_token", { probes: [] }],
      ["demo_flaky", { probes: [] }],
    ],
    "the demo has no check that would fail",
  );
});

Deno.test("config.example.toml documents every key of the schema", async () => {
  const text = await Deno.readTextFile(EXAMPLE);
  const tables = ["restart", "log", "probes", "limits"];
  const keys = new Set([
    ...Object.keys(agentSchema.shape),
    ...Object.keys(scriptSchema.shape).filter((key) => !tables.includes(key)),
    ...Object.keys(restartSchema.shape),
    ...Object.keys(logSchema.shape),
    ...Object.values(PROBE_SCHEMAS).flatMap((schema) => Object.keys(schema.shape)),
    ...Object.keys(limitsSchema.shape),
    ...Object.keys(collectorSchema.shape),
  ]);
  for (const key of keys) {
    assert.match(text, new RegExp(`^#? ?${key} = `, "m"), `${key} is documented`);
  }
  assert.match(text, /^\[defaults\.restart\]$/m);
  assert.match(text, /^\[defaults\.log\]$/m);
  assert.match(text, /^\[\[scripts\.rates\.probes\]\]$/m);
  assert.match(text, /^\[scripts\.rates\.limits\]$/m);
  assert.match(text, /^# \[collector\]$/m);
  for (const kind of Object.keys(PROBE_SCHEMAS)) {
    assert.match(text, new RegExp(`^kind = "${kind}"`, "m"), `a ${kind} probe is shown`);
  }
});

// --- resolution ----------------------------------------------------------

Deno.test("parseConfig() applies the documented defaults to a minimal script", () => {
  const config = parse(SCRIPT);
  assert.equal(config.agent.site, "default");
  assert.equal(config.agent.dataDir, "/etc/scriptmon/scriptmon-data");
  assert.equal(config.agent.apiPort, 8791);
  assert.equal(config.agent.logLevel, "info");
  assert.equal(config.agent.sampleIntervalMs, 10_000);
  assert.equal(config.agent.memoryWarnBytes, undefined);
  assert.equal(config.agent.diskWarnBytes, 500_000_000);
  assert.deepEqual(config.scripts.rates, {
    name: "rates",
    command: ["python3", "rates.py"],
    cwd: "/etc/scriptmon",
    env: {},
    enabled: true,
    restart: {
      policy: "always",
      minDelayMs: 1_000,
      maxDelayMs: 300_000,
      multiplier: 2,
      jitter: 0.2,
      resetAfterMs: 600_000,
      maxRestarts: 10,
      windowMs: 600_000,
    },
    stopSignal: "SIGTERM",
    stopTimeoutMs: 10_000,
    log: { maxSizeBytes: 10_000_000, maxAgeMs: 86_400_000, keep: 5 },
    health: { probes: [] },
  });
});

Deno.test("parseConfig() accepts an empty file", () => {
  const config = parse("");
  assert.deepEqual(config.scripts, {});
  assert.equal(config.agent.host, Deno.hostname());
});

Deno.test("parseConfig() resolves relative paths against the config file's folder", () => {
  const config = parse(lines(
    "[agent]",
    'data_dir = "../var/sm"',
    'log_dir = "logs/here"',
    "[scripts.a]",
    'command = "x"',
    'cwd = "./scripts/../bin"',
    "[scripts.b]",
    'command = "x"',
    'cwd = "/opt/abs"',
  ));
  assert.equal(config.agent.dataDir, "/etc/var/sm");
  assert.equal(config.agent.logDir, "/etc/scriptmon/logs/here");
  assert.equal(config.scripts.a.cwd, "/etc/scriptmon/bin");
  assert.equal(config.scripts.b.cwd, "/opt/abs");
});

Deno.test("parseConfig() keeps log_dir under data_dir when only data_dir is set", () => {
  const config = parse(lines("[agent]", 'data_dir = "/srv/sm"'));
  assert.equal(config.agent.logDir, "/srv/sm/logs");
});

Deno.test("parseConfig() splits a string command into words, honouring quotes", () => {
  const config = parse(lines(
    "[scripts.rates]",
    `command = "python3 token_monitor.py --x 'a b' --y \\"c \\\\\\" d\\" e\\\\ f"`,
  ));
  assert.deepEqual(config.scripts.rates.command, [
    "python3",
    "token_monitor.py",
    "--x",
    "a b",
    "--y",
    'c " d',
    "e f",
  ]);
});

Deno.test("parseConfig() lets a script's keys win over [defaults], key by key", () => {
  const config = parse(lines(
    "[defaults]",
    "enabled = false",
    'stop_signal = "SIGINT"',
    'stop_timeout = "3s"',
    'timezone = "UTC"',
    "[defaults.restart]",
    'min_delay = "2s"',
    'max_delay = "1m"',
    "[defaults.log]",
    "keep = 2",
    "[scripts.a]",
    'command = "a"',
    'schedule = "0 * * * *"',
    "[scripts.a.restart]",
    'max_delay = "30s"',
    "[scripts.b]",
    'command = "b"',
    "enabled = true",
    'stop_timeout = "1s"',
    'log = { keep = 9, max_size = "1MiB" }',
  ));
  const { a, b } = config.scripts;
  assert.equal(a.enabled, false);
  assert.equal(a.stopSignal, "SIGINT");
  assert.equal(a.stopTimeoutMs, 3_000);
  assert.equal(a.restart.minDelayMs, 2_000);
  assert.equal(a.restart.maxDelayMs, 30_000);
  assert.deepEqual(a.schedule, { cron: "0 * * * *", timezone: "UTC" });
  assert.equal(a.log.keep, 2);
  assert.equal(b.enabled, true);
  assert.equal(b.stopTimeoutMs, 1_000);
  assert.equal(b.restart.maxDelayMs, 60_000);
  assert.equal(b.schedule, undefined, "the default timezone alone makes no schedule");
  assert.deepEqual(b.log, { maxSizeBytes: 1_048_576, maxAgeMs: 86_400_000, keep: 9 });
});

Deno.test("parseConfig() interpolates ${VAR}, ${VAR:-fallback} and $${ in every string", () => {
  const config = parse(
    lines(
      "[agent]",
      'site = "${SITE}"',
      'data_dir = "${DATA:-/var/sm}"',
      "[scripts.a]",
      'command = ["${PY:-python3}", "x.py", "$${LITERAL}"]',
      'env = { TOKEN = "t-${TOKEN}" }',
    ),
    { vars: { SITE: "BFI4", TOKEN: "secret" } },
  );
  assert.equal(config.agent.site, "BFI4");
  assert.equal(config.agent.dataDir, "/var/sm");
  assert.deepEqual(config.scripts.a.command, ["python3", "x.py", "${LITERAL}"]);
  assert.deepEqual(config.scripts.a.env, { TOKEN: "t-secret" });
});

Deno.test("parseConfig() reads vars from the environment by default", () => {
  Deno.env.set("SCRIPTMON_TEST_SITE", "ENV1");
  try {
    const config = parseConfig('[agent]\nsite = "${SCRIPTMON_TEST_SITE}"\n', { path: FILE });
    assert.equal(config.agent.site, "ENV1");
  } finally {
    Deno.env.delete("SCRIPTMON_TEST_SITE");
  }
});

// --- overlays ------------------------------------------------------------

const OVERLAID = lines(
  "[agent]", //                        1
  'site = "BFI4"', //                  2
  "[scripts.x]", //                    3
  'command = ["a"]', //                4
  "[scripts.x.restart]", //            5
  'max_delay = "1m"', //               6
  "[env.dev.agent]", //                7
  'site = "DEV1"', //                  8
  "[env.dev.scripts.x]", //            9
  "enabled = false", //                10
  'restart = { min_delay = "2s" }', // 11
  "[env.dev.scripts.y]", //            12
  'command = "b"', //                  13
  "[env.prod.agent]", //               14
  "api_port = 99999", //               15
);

Deno.test("parseConfig() deep-merges the chosen [env.<name>] overlay over the base", () => {
  const config = parse(OVERLAID, { envName: "dev" });
  assert.equal(config.envName, "dev");
  assert.equal(config.agent.site, "DEV1");
  assert.equal(config.scripts.x.enabled, false);
  assert.deepEqual(config.scripts.x.command, ["a"]);
  assert.equal(config.scripts.x.restart.minDelayMs, 2_000);
  assert.equal(config.scripts.x.restart.maxDelayMs, 60_000, "base keys of a merged table stay");
  assert.deepEqual(Object.keys(config.scripts), ["x", "y"]);
});

Deno.test("parseConfig() ignores overlays that are not chosen", () => {
  const config = parse(OVERLAID);
  assert.equal(config.agent.site, "BFI4");
  assert.equal(config.agent.apiPort, 8791);
  assert.deepEqual(Object.keys(config.scripts), ["x"]);
});

Deno.test("parseConfig() points at the overlay's line for a value the overlay set", () => {
  assert.deepEqual(issuesOf(OVERLAID, { envName: "prod" }), [{
    path: "agent.api_port",
    line: 15,
    message: "expected a number <= 65535, got 99999",
  }]);
});

Deno.test("parseConfig() points at the base line for a base value under an overlay", () => {
  const text = OVERLAID.replace('max_delay = "1m"', 'max_delay = "soon"');
  assert.deepEqual(issuesOf(text, { envName: "dev" }), [{
    path: "scripts.x.restart.max_delay",
    line: 6,
    message: 'expected a duration like "30s", "5m" or "1h30m", got "soon"',
  }]);
});

Deno.test("parseConfig() rejects an unknown --env, listing the available ones", () => {
  assert.deepEqual(issuesOf(OVERLAID, { envName: "staging" }), [{
    path: "env",
    line: 7,
    message: 'unknown environment "staging": expected one of "dev", "prod"',
  }]);
  assert.deepEqual(issuesOf(SCRIPT, { envName: "dev" }), [{
    path: "env",
    line: undefined,
    message: 'unknown environment "dev": this file has no [env.<name>] tables',
  }]);
});

Deno.test("parseConfig() rejects an overlay that is not a table", () => {
  assert.deepEqual(issuesOf("env.dev = 5\n"), [{
    path: "env.dev",
    line: 1,
    message: "expected a table [env.dev], got 5",
  }]);
});

Deno.test("envNameFrom() prefers the --env flag, then SCRIPTMON_ENV, else none", () => {
  assert.equal(envNameFrom("dev", { SCRIPTMON_ENV: "prod" }), "dev");
  assert.equal(envNameFrom(undefined, { SCRIPTMON_ENV: "prod" }), "prod");
  assert.equal(envNameFrom("", { SCRIPTMON_ENV: "" }), undefined);
  assert.equal(envNameFrom(undefined, {}), undefined);
});

// --- validation errors ---------------------------------------------------

Deno.test("parseConfig() reports an unknown key with a did-you-mean hint", () => {
  assert.deepEqual(
    issuesOf(
      lines("[scripts.rates]", 'command = "x"', "[scripts.rates.restart]", 'max_dealy = "5m"'),
    ),
    [{
      path: "scripts.rates.restart.max_dealy",
      line: 4,
      message: 'unknown key "max_dealy"; did you mean "max_delay"?',
    }],
  );
});

Deno.test("parseConfig() reports an unknown table listing the known keys", () => {
  assert.deepEqual(issuesOf(lines("[agnet]", 'site = "x"')), [{
    path: "agnet",
    line: 1,
    message: 'unknown key "agnet"; did you mean "agent"?',
  }]);
  assert.deepEqual(issuesOf(lines("[agent]", "colour = 1")), [{
    path: "agent.colour",
    line: 2,
    message:
      'unknown key "colour"; expected one of site, host, data_dir, log_dir, api_port, log_level, sample_interval, memory_warn, disk_warn',
  }]);
});

Deno.test("parseConfig() reports a wrong type with the value found", () => {
  assert.deepEqual(
    issuesOf(lines("[agent]", "site = 42", "[scripts.a]", 'command = "x"', 'enabled = "yes"')),
    [
      { path: "agent.site", line: 2, message: "expected a string, got 42" },
      { path: "scripts.a.enabled", line: 5, message: 'expected true or false, got "yes"' },
    ],
  );
});

Deno.test("parseConfig() reports a non-string env value at its own key", () => {
  assert.deepEqual(issuesOf(lines("[scripts.a]", 'command = "x"', "env = { FC = 5 }")), [
    { path: "scripts.a.env.FC", line: 3, message: "expected a string, got 5" },
  ]);
});

Deno.test("parseConfig() reports a bad duration", () => {
  assert.deepEqual(issuesOf(SCRIPT + 'stop_timeout = "ten seconds"\n'), [{
    path: "scripts.rates.stop_timeout",
    line: 3,
    message: 'expected a duration like "30s", "5m" or "1h30m", got "ten seconds"',
  }]);
});

Deno.test("parseConfig() reports a bad size", () => {
  assert.deepEqual(issuesOf(SCRIPT + 'log = { max_size = "10 megs" }\n'), [{
    path: "scripts.rates.log.max_size",
    line: 3,
    message: 'expected a size like "512KB", "10MB" or "1GiB", got "10 megs"',
  }]);
});

Deno.test("parseConfig() reports a bad stop signal listing the allowed ones", () => {
  assert.deepEqual(issuesOf(SCRIPT + 'stop_signal = "SIGSTOP"\n'), [{
    path: "scripts.rates.stop_signal",
    line: 3,
    message:
      'expected one of "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", got "SIGSTOP"',
  }]);
});

Deno.test("parseConfig() reports a bad restart policy and log level", () => {
  assert.deepEqual(
    issuesOf(lines("[agent]", 'log_level = "warn"') + SCRIPT + 'restart.policy = "sometimes"\n'),
    [
      {
        path: "agent.log_level",
        line: 2,
        message: 'expected one of "debug", "info", "warning", "error", got "warn"',
      },
      {
        path: "scripts.rates.restart.policy",
        line: 5,
        message: 'expected one of "always", "on-failure", "never", got "sometimes"',
      },
    ],
  );
});

Deno.test("parseConfig() reports an invalid cron schedule", () => {
  assert.deepEqual(issuesOf(SCRIPT + 'schedule = "61 * * * *"\n'), [{
    path: "scripts.rates.schedule",
    line: 3,
    message:
      'expected a cron expression of 5 or 6 fields like "*/5 * * * *", got "61 * * * *" (invalid value for minute: 61)',
  }]);
  assert.deepEqual(issuesOf(SCRIPT + 'schedule = "every day"\n'), [{
    path: "scripts.rates.schedule",
    line: 3,
    message:
      'expected a cron expression of 5 or 6 fields like "*/5 * * * *", got "every day" (it has 2 fields)',
  }]);
});

Deno.test("parseConfig() accepts 6-field and nickname schedules", () => {
  const config = parse(lines(
    "[scripts.a]",
    'command = "a"',
    'schedule = "*/30 * * * * *"',
    "[scripts.b]",
    'command = "b"',
    'schedule = "@hourly"',
  ));
  assert.equal(config.scripts.a.schedule?.cron, "*/30 * * * * *");
  assert.equal(config.scripts.b.schedule?.cron, "@hourly");
});

Deno.test("parseConfig() reports a bad time zone and a time zone without schedule", () => {
  assert.deepEqual(issuesOf(SCRIPT + 'schedule = "0 7 * * *"\ntimezone = "Mars/Olympus"\n'), [{
    path: "scripts.rates.timezone",
    line: 4,
    message: 'expected an IANA time zone like "Europe/Berlin" or "UTC", got "Mars/Olympus"',
  }]);
  assert.deepEqual(issuesOf(SCRIPT + 'timezone = "UTC"\n'), [{
    path: "scripts.rates.timezone",
    line: 3,
    message: 'expected timezone only together with schedule, got "UTC" without one',
  }]);
});

Deno.test("parseConfig() reports an empty, missing or malformed command", () => {
  assert.deepEqual(issuesOf(lines("[scripts.a]", 'command = ""', "[scripts.b]", "command = []")), [
    { path: "scripts.a.command", line: 2, message: 'expected a non-empty command, got ""' },
    { path: "scripts.b.command", line: 4, message: "expected a non-empty command, got []" },
  ]);
  assert.deepEqual(issuesOf(lines("[scripts.a]", "enabled = true")), [{
    path: "scripts.a.command",
    line: 1,
    message:
      'expected a command: an array of strings like ["python", "x.py"] or one string, got nothing',
  }]);
  assert.deepEqual(issuesOf(lines("[scripts.a]", 'command = "python \'x.py"')), [{
    path: "scripts.a.command",
    line: 2,
    message: `unterminated single quote at character 8 in command "python 'x.py"`,
  }]);
});

Deno.test("parseConfig() reports a bad script name", () => {
  assert.deepEqual(issuesOf(lines('[scripts."token monitor"]', 'command = "x"')), [{
    path: "scripts.token monitor",
    line: 1,
    message: 'expected a script name of letters, digits, "_" and "-", got "token monitor"',
  }]);
});

Deno.test("parseConfig() reports out-of-range numbers with the bound", () => {
  assert.deepEqual(
    issuesOf(lines(
      "[agent]",
      "api_port = -1",
      "[scripts.a]",
      'command = "x"',
      "[scripts.a.restart]",
      "multiplier = 0.5",
      "jitter = 1.5",
      "max_restarts = 0",
      "[scripts.a.log]",
      "keep = 2.5",
    )),
    [
      { path: "agent.api_port", line: 2, message: "expected a number >= 0, got -1" },
      { path: "scripts.a.restart.multiplier", line: 6, message: "expected a number >= 1, got 0.5" },
      { path: "scripts.a.restart.jitter", line: 7, message: "expected a number <= 1, got 1.5" },
      {
        path: "scripts.a.restart.max_restarts",
        line: 8,
        message: "expected a number >= 1, got 0",
      },
      { path: "scripts.a.log.keep", line: 10, message: "expected an integer, got 2.5" },
    ],
  );
});

Deno.test("parseConfig() reports max_delay below min_delay after applying [defaults]", () => {
  assert.deepEqual(
    issuesOf(
      lines(
        "[defaults.restart]",
        'min_delay = "10s"',
        "[scripts.a]",
        'command = "x"',
        'restart.max_delay = "5s"',
      ),
    ),
    [{
      path: "scripts.a.restart.max_delay",
      line: 5,
      message: 'expected max_delay >= min_delay (10s), got "5s"',
    }],
  );
});

Deno.test("parseConfig() names a missing ${VAR}, its key path and line", () => {
  assert.deepEqual(issuesOf(SCRIPT + 'env = { TOKEN = "${CHIME_TOKEN}" }\n'), [{
    path: "scripts.rates.env.TOKEN",
    line: 3,
    message: 'environment variable CHIME_TOKEN is not set (referenced as "${CHIME_TOKEN}")',
  }]);
});

Deno.test("parseConfig() does not also report a schema error for a value with a missing ${VAR}", () => {
  assert.deepEqual(issuesOf(SCRIPT + 'stop_timeout = "${STOP}"\n').map((issue) => issue.message), [
    'environment variable STOP is not set (referenced as "${STOP}")',
  ]);
});

Deno.test("parseConfig() turns a TOML syntax error into a ConfigError with its line", () => {
  assert.deepEqual(issuesOf(lines("[agent]", 'site = "BFI4"', "api_port = = 1")), [{
    path: "",
    line: 3,
    message: "invalid TOML: invalid value (column 12)",
  }]);
});

Deno.test("parseConfig() reports all problems at once, in line order, in one message", () => {
  const text = lines(
    "[agent]",
    'site = "${SITE}"',
    "api_port = 70000",
    "[scripts.rates]",
    'command = "python3 rates.py"',
    "[scripts.rates.restart]",
    'max_delay = "soon"',
    "[scripts.bad]",
    "command = []",
    'stop_signal = "TERM"',
  );
  let error: unknown;
  try {
    parse(text);
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof ConfigError);
  assert.equal(error.name, "ConfigError");
  assert.equal(
    error.message,
    [
      `${FILE}:2: agent.site: environment variable SITE is not set (referenced as "\${SITE}")`,
      `${FILE}:3: agent.api_port: expected a number <= 65535, got 70000`,
      `${FILE}:7: scripts.rates.restart.max_delay: expected a duration like "30s", "5m" or "1h30m", got "soon"`,
      `${FILE}:9: scripts.bad.command: expected a non-empty command, got []`,
      `${FILE}:10: scripts.bad.stop_signal: expected one of "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", got "TERM"`,
    ].join("\n"),
  );
  assert.equal(error.issues.length, 5);
});

Deno.test("loadConfig() names the path of a missing file", async () => {
  const path = join(ROOT, "no-such-config.toml");
  await assert.rejects(() => loadConfig(path), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `${path}: cannot read config file "${path}": not found`);
    assert.ok(error.cause instanceof Deno.errors.NotFound);
    return true;
  });
});

// --- health checks -------------------------------------------------------

Deno.test("parseConfig() resolves the [agent] sampling and warning keys", () => {
  const config = parse(lines(
    "[agent]",
    'sample_interval = "1s"',
    'memory_warn = "200MB"',
    'disk_warn = "1GiB"',
  ));
  assert.equal(config.agent.sampleIntervalMs, 1_000);
  assert.equal(config.agent.memoryWarnBytes, 200_000_000);
  assert.equal(config.agent.diskWarnBytes, 1_073_741_824);
});

Deno.test("parseConfig() rejects a sample_interval below 100ms", () => {
  assert.deepEqual(issuesOf(lines("[agent]", 'sample_interval = "50ms"')), [{
    path: "agent.sample_interval",
    line: 2,
    message: 'expected a duration >= 100ms, got "50ms"',
  }]);
});

Deno.test("parseConfig() resolves every health check of a script", () => {
  const config = parse(lines(
    "[scripts.rates]",
    'command = "python3 rates.py"',
    'cwd = "scripts"',
    'heartbeat_timeout = "2m"',
    'grace = "30s"',
    'heartbeat_file = "./rates.heartbeat"',
    'heartbeat_action = ["alert", "restart"]',
    'silence_timeout = "10m"',
    'silence_action = "restart"',
    "[[scripts.rates.probes]]",
    'kind = "http"',
    'name = "api"',
    'url = "https://127.0.0.1:8080/health"',
    'method = "HEAD"',
    "status = 204",
    'body = "ok"',
    'interval = "1m"',
    'timeout = "2s"',
    "failures = 1",
    'action = "restart"',
    "[[scripts.rates.probes]]",
    'kind = "tcp"',
    'host = "db.local"',
    "port = 5432",
    "[[scripts.rates.probes]]",
    'kind = "exec"',
    "command = \"python check.py --quick 'a b'\"",
    'cwd = "/opt/checks"',
    "[scripts.rates.limits]",
    'memory_warn = "200MB"',
    'memory_restart = "300MB"',
    "cpu_warn = 80",
    "cpu_restart = 150",
    "samples = 5",
  ));
  const alert = { alert: true, restart: false };
  assert.deepEqual(config.scripts.rates.health, {
    heartbeat: {
      timeoutMs: 120_000,
      graceMs: 30_000,
      file: "/etc/scriptmon/rates.heartbeat",
      action: { alert: true, restart: true },
    },
    silence: { timeoutMs: 600_000, action: { alert: false, restart: true } },
    probes: [
      {
        kind: "http",
        name: "api",
        url: "https://127.0.0.1:8080/health",
        method: "HEAD",
        status: 204,
        body: "ok",
        intervalMs: 60_000,
        timeoutMs: 2_000,
        failures: 1,
        action: { alert: false, restart: true },
      },
      {
        kind: "tcp",
        name: "tcp-2",
        host: "db.local",
        port: 5432,
        intervalMs: 30_000,
        timeoutMs: 5_000,
        failures: 3,
        action: alert,
      },
      {
        kind: "exec",
        name: "exec-3",
        command: ["python", "check.py", "--quick", "a b"],
        cwd: "/opt/checks",
        intervalMs: 30_000,
        timeoutMs: 5_000,
        failures: 3,
        action: alert,
      },
    ],
    limits: {
      memoryWarnBytes: 200_000_000,
      memoryRestartBytes: 300_000_000,
      cpuWarnPercent: 80,
      cpuRestartPercent: 150,
      samples: 5,
    },
  });
});

Deno.test("parseConfig() applies the health defaults: grace 0s, alert, 30s/5s/3 probes, 3 samples", () => {
  const config = parse(
    SCRIPT + lines(
      'heartbeat_timeout = "1m"',
      'silence_timeout = "5m"',
      'probes = [{ kind = "http", url = "http://localhost/" }, { kind = "exec", command = ["true"] }]',
      "limits = { cpu_warn = 90 }",
    ),
  );
  const alert = { alert: true, restart: false };
  const common = { intervalMs: 30_000, timeoutMs: 5_000, failures: 3, action: alert };
  assert.deepEqual(config.scripts.rates.health, {
    heartbeat: { timeoutMs: 60_000, graceMs: 0, action: alert },
    silence: { timeoutMs: 300_000, action: alert },
    probes: [
      {
        kind: "http",
        name: "http-1",
        url: "http://localhost/",
        method: "GET",
        status: 200,
        ...common,
      },
      { kind: "exec", name: "exec-2", command: ["true"], cwd: "/etc/scriptmon", ...common },
    ],
    limits: { cpuWarnPercent: 90, samples: 3 },
  });
});

Deno.test("parseConfig() lets an exec probe default to the script's cwd", () => {
  const config = parse(lines(
    "[scripts.a]",
    'command = "a"',
    'cwd = "/srv/a"',
    "[[scripts.a.probes]]",
    'kind = "exec"',
    'command = "./check"',
  ));
  const [probe] = config.scripts.a.health.probes;
  assert.equal(probe.kind === "exec" && probe.cwd, "/srv/a");
});

Deno.test("parseConfig() reports a bad action, an empty one and a repeated one", () => {
  const hint = 'expected "alert", "restart" or an array of them like ["alert", "restart"]';
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        'silence_timeout = "1m"',
        'silence_action = "page"',
        'heartbeat_timeout = "1m"',
        "heartbeat_action = []",
        "[[scripts.rates.probes]]",
        'kind = "tcp"',
        'host = "h"',
        "port = 1",
        'action = ["restart", "restart"]',
      ),
    ),
    [
      { path: "scripts.rates.silence_action", line: 4, message: `${hint}, got "page"` },
      { path: "scripts.rates.heartbeat_action", line: 6, message: `${hint}, got an empty array` },
      {
        path: "scripts.rates.probes.0.action",
        line: 11,
        message: `${hint}, got a repeated action in ["restart","restart"]`,
      },
    ],
  );
});

Deno.test("parseConfig() reports an unparseable probe URL at its line in the 2nd probe", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        "[[scripts.rates.probes]]", //        3
        'kind = "http"', //                   4
        'url = "http://127.0.0.1/health"', // 5
        "[[scripts.rates.probes]]", //        6
        'kind = "http"', //                   7
        'url = "localhost:8080"', //          8
        "[[scripts.rates.probes]]", //        9
        'kind = "http"', //                   10
        'url = "not a url"', //               11
      ),
    ),
    [
      {
        path: "scripts.rates.probes.1.url",
        line: 8,
        message: 'expected an http:// or https:// URL, got "localhost:8080"',
      },
      {
        path: "scripts.rates.probes.2.url",
        line: 11,
        message: 'expected an http:// or https:// URL, got "not a url"',
      },
    ],
  );
});

Deno.test("parseConfig() reports a probe key of another kind, naming the kind it needs", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        "[[scripts.rates.probes]]",
        'kind = "tcp"',
        'host = "127.0.0.1"',
        "port = 5432",
        'url = "http://127.0.0.1/"',
        "[[scripts.rates.probes]]",
        'kind = "exec"',
        'command = "true"',
        'comand = "x"',
      ),
    ),
    [
      {
        path: "scripts.rates.probes.0.url",
        line: 7,
        message: 'expected url only together with kind = "http", got it with kind = "tcp"',
      },
      {
        path: "scripts.rates.probes.1.comand",
        line: 11,
        message: 'unknown key "comand"; did you mean "command"?',
      },
    ],
  );
});

Deno.test("parseConfig() reports a missing or unknown probe kind and missing required keys", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        "[[scripts.rates.probes]]",
        'kind = "udp"',
        "[[scripts.rates.probes]]",
        'url = "http://x/"',
        "[[scripts.rates.probes]]",
        'kind = "tcp"',
        "port = 70000",
      ),
    ),
    [
      {
        path: "scripts.rates.probes.0.kind",
        line: 4,
        message: 'expected one of "http", "tcp", "exec", got "udp"',
      },
      {
        path: "scripts.rates.probes.1.kind",
        line: 5,
        message: 'expected one of "http", "tcp", "exec", got nothing',
      },
      { path: "scripts.rates.probes.2.host", line: 7, message: "expected a string, got nothing" },
      {
        path: "scripts.rates.probes.2.port",
        line: 9,
        message: "expected a number <= 65535, got 70000",
      },
    ],
  );
});

Deno.test("parseConfig() reports duplicate probe names, given or default", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        "[[scripts.rates.probes]]",
        'name = "tcp-2"',
        'kind = "tcp"',
        'host = "a"',
        "port = 1",
        "[[scripts.rates.probes]]",
        'kind = "tcp"',
        'host = "b"',
        "port = 2",
        "[[scripts.rates.probes]]",
        'name = "tcp-2"',
        'kind = "exec"',
        'command = "true"',
      ),
    ),
    [
      {
        path: "scripts.rates.probes.1.name",
        line: 8,
        message:
          'expected a probe name unique within the script, got "tcp-2" a second time (the default name of this probe)',
      },
      {
        path: "scripts.rates.probes.2.name",
        line: 13,
        message: 'expected a probe name unique within the script, got "tcp-2" a second time',
      },
    ],
  );
});

Deno.test("parseConfig() reports a bad probe name", () => {
  assert.deepEqual(
    issuesOf(SCRIPT + 'probes = [{ name = "my api", kind = "http", url = "http://x/" }]\n'),
    [{
      path: "scripts.rates.probes.0.name",
      line: 3,
      message: 'expected a probe name of letters, digits, "_" and "-", got "my api"',
    }],
  );
});

Deno.test("parseConfig() reports a probe timeout >= interval, defaults included", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        "[[scripts.rates.probes]]",
        'kind = "tcp"',
        'host = "a"',
        "port = 1",
        'interval = "10s"',
        'timeout = "10s"',
        "[[scripts.rates.probes]]",
        'kind = "tcp"',
        'host = "b"',
        "port = 2",
        'interval = "3s"',
      ),
    ),
    [
      {
        path: "scripts.rates.probes.0.timeout",
        line: 8,
        message: 'expected timeout < interval (10s), got "10s"',
      },
      {
        path: "scripts.rates.probes.1.timeout",
        line: 9,
        message: 'expected timeout < interval (3s), got "5s" (the default)',
      },
    ],
  );
});

Deno.test("parseConfig() reports a restart threshold not above its warn threshold", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        "[scripts.rates.limits]",
        'memory_warn = "300MB"',
        'memory_restart = "200MB"',
        "cpu_warn = 90",
        "cpu_restart = 90",
      ),
    ),
    [
      {
        path: "scripts.rates.limits.memory_restart",
        line: 5,
        message: 'expected memory_restart > memory_warn ("300MB"), got "200MB"',
      },
      {
        path: "scripts.rates.limits.cpu_restart",
        line: 7,
        message: "expected cpu_restart > cpu_warn (90), got 90",
      },
    ],
  );
});

Deno.test("parseConfig() reports a limits table without any threshold", () => {
  assert.deepEqual(issuesOf(SCRIPT + lines("[scripts.rates.limits]", "samples = 2")), [{
    path: "scripts.rates.limits",
    line: 3,
    message:
      "expected at least one threshold (memory_warn, memory_restart, cpu_warn or cpu_restart), got none",
  }]);
  assert.deepEqual(issuesOf(SCRIPT + lines("[scripts.rates.limits]", "cpu_warn = 0")), [{
    path: "scripts.rates.limits.cpu_warn",
    line: 4,
    message: "expected a number > 0, got 0",
  }]);
});

Deno.test("parseConfig() reports keys that need heartbeat_timeout or silence_timeout", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        'grace = "30s"',
        'heartbeat_file = "x.beat"',
        'heartbeat_action = "restart"',
        'silence_action = "alert"',
      ),
    ),
    [
      {
        path: "scripts.rates.grace",
        line: 3,
        message: 'expected grace only together with heartbeat_timeout, got "30s" without one',
      },
      {
        path: "scripts.rates.heartbeat_file",
        line: 4,
        message:
          'expected heartbeat_file only together with heartbeat_timeout, got "x.beat" without one',
      },
      {
        path: "scripts.rates.heartbeat_action",
        line: 5,
        message:
          'expected heartbeat_action only together with heartbeat_timeout, got "restart" without one',
      },
      {
        path: "scripts.rates.silence_action",
        line: 6,
        message:
          'expected silence_action only together with silence_timeout, got "alert" without one',
      },
    ],
  );
});

Deno.test("parseConfig() rejects a zero heartbeat or silence timeout", () => {
  assert.deepEqual(
    issuesOf(SCRIPT + lines('heartbeat_timeout = "0s"', 'silence_timeout = "0ms"')),
    [
      {
        path: "scripts.rates.heartbeat_timeout",
        line: 3,
        message: 'expected a duration > 0, got "0s"',
      },
      {
        path: "scripts.rates.silence_timeout",
        line: 4,
        message: 'expected a duration > 0, got "0ms"',
      },
    ],
  );
});

Deno.test("parseConfig() points at the overlay's probe lines when an overlay replaces probes", () => {
  const text = SCRIPT + lines(
    "[[scripts.rates.probes]]", //               3
    'kind = "tcp"', //                           4
    'host = "a"', //                             5
    "port = 1", //                               6
    "[[env.dev.scripts.rates.probes]]", //       7
    'kind = "tcp"', //                           8
    "port = 2", //                               9
  );
  assert.deepEqual(issuesOf(text, { envName: "dev" }), [{
    path: "scripts.rates.probes.0.host",
    line: 7,
    message: "expected a string, got nothing",
  }]);
});

// --- [collector] ---------------------------------------------------------

const COLLECTOR = lines("[collector]", 'url = "https://scriptmon.example"', 'token = "${TOKEN}"');

Deno.test("parseConfig() leaves the collector link off without a [collector] table", () => {
  assert.equal(parse(SCRIPT).collector, undefined);
});

Deno.test("parseConfig() applies the documented [collector] defaults", () => {
  const config = parse(COLLECTOR, { vars: { TOKEN: "t0ken" } });
  assert.deepEqual(config.collector, {
    url: "https://scriptmon.example/",
    token: "t0ken",
    heartbeatIntervalMs: 10_000,
    batchSize: 500,
    spoolLimit: 100_000,
    timeoutMs: 10_000,
    leaseTtlMs: 15_000,
  });
});

Deno.test("parseConfig() reads every [collector] key and keeps a path prefix", () => {
  const config = parse(lines(
    "[collector]",
    'url = "http://127.0.0.1:8792/scriptmon"',
    'token = "t"',
    'heartbeat_interval = "1s"',
    "batch_size = 50",
    "spool_limit = 1000",
    'timeout = "3s"',
    'lease_ttl = "2s"',
  ));
  assert.deepEqual(config.collector, {
    url: "http://127.0.0.1:8792/scriptmon/",
    token: "t",
    heartbeatIntervalMs: 1000,
    batchSize: 50,
    spoolLimit: 1000,
    timeoutMs: 3000,
    leaseTtlMs: 2000,
  });
});

Deno.test("parseConfig() refuses plain http to a collector that is not on loopback", () => {
  const [issue] = issuesOf(
    lines("[collector]", 'url = "http://scriptmon.example/"', 'token = "t"'),
  );
  assert.equal(issue.path, "collector.url");
  assert.equal(
    issue.message,
    'expected an https:// URL (plain http:// only to 127.0.0.1 or localhost), got "http://scriptmon.example/"',
  );
});

Deno.test("parseConfig() refuses credentials in the collector url", () => {
  const [issue] = issuesOf(lines("[collector]", 'url = "https://a:b@x.example/"', 'token = "t"'));
  assert.equal(
    issue.message,
    'expected a URL without credentials (the token goes in collector.token), got "https://a:b@x.example/"',
  );
});

Deno.test("parseConfig() reports out-of-range [collector] values at their keys", () => {
  const issues = issuesOf(lines(
    "[collector]",
    'url = "https://x.example/"',
    'heartbeat_interval = "500ms"',
    "batch_size = 501",
    "spool_limit = 5",
  ));
  const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
  assert.deepEqual(Object.keys(byPath).sort(), [
    "collector.batch_size",
    "collector.heartbeat_interval",
    "collector.spool_limit",
    "collector.token",
  ]);
  assert.equal(byPath["collector.heartbeat_interval"], 'expected a duration >= 1s, got "500ms"');
});

Deno.test("parseConfig() reports an unset ${SCRIPTMON_AGENT_TOKEN} at collector.token", () => {
  const issues = issuesOf(
    lines("[collector]", 'url = "https://x.example/"', 'token = "${SCRIPTMON_AGENT_TOKEN}"'),
  );
  assert.equal(issues.length, 1);
  assert.equal(issues[0].path, "collector.token");
  assert.match(issues[0].message, /SCRIPTMON_AGENT_TOKEN/);
});

// --- singleton -----------------------------------------------------------

Deno.test('parseConfig() leaves singleton unset by default and reads singleton = "site"', () => {
  assert.equal(parse(SCRIPT).scripts.rates.singleton, undefined);
  assert.equal("singleton" in parse(SCRIPT).scripts.rates, false);
  const config = parse(SCRIPT + 'singleton = "site"\n' + COLLECTOR, { vars: { TOKEN: "t" } });
  assert.equal(config.scripts.rates.singleton, "site");
});

Deno.test("parseConfig() refuses singleton without a [collector] table, at the key's line", () => {
  const issues = issuesOf(SCRIPT + 'singleton = "site"\n');
  assert.equal(issues.length, 1);
  assert.equal(issues[0].path, "scripts.rates.singleton");
  assert.equal(issues[0].line, 3);
  assert.equal(
    issues[0].message,
    "expected singleton only together with a [collector] table (the site lease is held at the " +
      'collector), got "site" without one',
  );
});

Deno.test('parseConfig() refuses a singleton scope other than "site"', () => {
  const issues = issuesOf(SCRIPT + 'singleton = "fleet"\n' + COLLECTOR, { vars: { TOKEN: "t" } });
  assert.equal(issues.length, 1);
  assert.equal(issues[0].path, "scripts.rates.singleton");
  assert.match(issues[0].message, /"site".*"fleet"/);
});

Deno.test("parseConfig() refuses a collector.lease_ttl outside 1s..10m", () => {
  const short = issuesOf(COLLECTOR + 'lease_ttl = "500ms"\n', { vars: { TOKEN: "t" } });
  assert.equal(short[0].path, "collector.lease_ttl");
  assert.equal(short[0].message, 'expected a duration >= 1s, got "500ms"');
  const long = issuesOf(COLLECTOR + 'lease_ttl = "11m"\n', { vars: { TOKEN: "t" } });
  assert.equal(long[0].message, 'expected a duration <= 10m, got "11m"');
});

// --- dedupe_scope --------------------------------------------------------

const SITE_WEBHOOK = lines(
  "[webhooks.dock]",
  'kind = "slack"',
  'url = "https://hooks.slack.com/services/T/B/x"',
  'dedupe_scope = "site"',
);

Deno.test('parseConfig() reads a webhook\'s dedupe_scope = "site" (unset by default)', () => {
  const config = parse(SITE_WEBHOOK + COLLECTOR, { vars: { TOKEN: "t" } });
  assert.equal(config.webhooks.dock.dedupeScope, "site");
  const plain = parse(SITE_WEBHOOK.replace('dedupe_scope = "site"\n', ""));
  assert.equal("dedupeScope" in plain.webhooks.dock, false);
});

Deno.test('parseConfig() refuses dedupe_scope = "site" without a [collector] table', () => {
  const issues = issuesOf(SITE_WEBHOOK);
  assert.equal(issues.length, 1);
  assert.equal(issues[0].path, "webhooks.dock.dedupe_scope");
  assert.equal(issues[0].line, 4);
  assert.equal(
    issues[0].message,
    'expected dedupe_scope = "site" only together with a [collector] table (the claims are ' +
      'made at the collector), got "site" without one',
  );
});

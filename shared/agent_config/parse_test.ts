import assert from "node:assert/strict";
import { ConfigError, envNameFrom, locateDataDir, parseConfig } from "./parse.ts";
import { FILE, issuesOf, lines, notepad, parse, SCRIPT } from "./_testing.ts";

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

// --- files as Windows users write them -----------------------------------

const LOCAL = "C:\\Users\\ann\\AppData\\Local";

Deno.test("parseConfig() refuses a Windows path an escape broke, naming key and line", () => {
  const text = lines("[scripts.rates]", 'command = ["python", "rates.py"]', 'cwd = "C:\\fc\\new"');
  assert.throws(() => parse(notepad(text)), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      `${FILE}:3: scripts.rates.cwd: "C:\\fc\\new" holds a form feed and a newline: in a ` +
        'double-quoted string "\\f" and "\\n" are escapes, not part of a path; write ' +
        "'C:\\fc\\new' (single quotes keep backslashes) or \"C:/fc/new\"",
    );
    return true;
  });
});

Deno.test("parseConfig() refuses %LOCALAPPDATA% in a path and takes ${LOCALAPPDATA}", () => {
  assert.deepEqual(
    issuesOf(lines("[agent]", "data_dir = '%LOCALAPPDATA%\\scriptmon'")).map((
      i,
    ) => [i.path, i.line]),
    [["agent.data_dir", 2]],
  );
  const config = parse(lines("[agent]", "data_dir = '${LOCALAPPDATA}\\scriptmon'"), {
    vars: { LOCALAPPDATA: LOCAL },
  });
  assert.equal(config.agent.dataDir, `${LOCAL}\\scriptmon`);
});

Deno.test("parseConfig() puts data and logs under %LOCALAPPDATA%\\scriptmon on Windows by default", () => {
  const windows = parseConfig(SCRIPT, {
    path: FILE,
    os: "windows",
    vars: { LOCALAPPDATA: LOCAL },
  });
  assert.equal(windows.agent.dataDir, `${LOCAL}\\scriptmon\\scriptmon-data`);
  assert.equal(windows.agent.logDir, `${LOCAL}\\scriptmon\\scriptmon-data\\logs`);
  const set = parseConfig(lines("[agent]", 'data_dir = "D:/fc"'), {
    path: FILE,
    os: "windows",
    vars: { LOCALAPPDATA: LOCAL },
  });
  assert.equal(set.agent.dataDir, "D:/fc");
  const linux = parseConfig(SCRIPT, { path: FILE, os: "linux", vars: { LOCALAPPDATA: LOCAL } });
  assert.equal(linux.agent.dataDir, "/etc/scriptmon/scriptmon-data");
});

Deno.test("locateDataDir() finds the Windows default data dir in a Notepad file with errors", () => {
  const text = notepad(lines("[agent]", 'site = "FC1"', "api_port = = 1"));
  const options = { path: FILE, vars: { LOCALAPPDATA: LOCAL } };
  assert.equal(
    locateDataDir(text, { ...options, os: "windows" }),
    `${LOCAL}\\scriptmon\\scriptmon-data`,
  );
  assert.equal(locateDataDir(text, { ...options, os: "linux" }), "/etc/scriptmon/scriptmon-data");
});

Deno.test("stop_signal takes the Windows names: ctrl-c, ctrl-break, terminate", () => {
  const config = parse(
    `[scripts.a]\ncommand = ["a"]\nstop_signal = "ctrl-c"\n` +
      `[scripts.b]\ncommand = ["b"]\nstop_signal = "ctrl-break"\n` +
      `[scripts.c]\ncommand = ["c"]\nstop_signal = "terminate"\n`,
  );
  const signals = Object.fromEntries(
    Object.values(config.scripts).map((s) => [s.name, s.stopSignal]),
  );
  assert.deepEqual(signals, { a: "SIGINT", b: "SIGTERM", c: "SIGKILL" });
});

Deno.test("parseConfig() reads a calendar's holidays_file only with the readText it is given", () => {
  const text = lines("[calendars.fc]", 'holidays_file = "holidays.ics"');
  const ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\n" +
    "END:VCALENDAR\r\n";
  const read: string[] = [];
  const config = parse(text, { readText: (path) => (read.push(path), ics) });
  assert.deepEqual(read, ["/etc/scriptmon/holidays.ics"]);
  assert.ok(config.calendars.get("fc")?.holidays.includes("2026-12-25"));
  assert.deepEqual(issuesOf(text), [{
    path: "calendars.fc.holidays_file",
    line: 2,
    message:
      'cannot read "/etc/scriptmon/holidays.ics": the config was parsed without a way to read files',
  }]);
});

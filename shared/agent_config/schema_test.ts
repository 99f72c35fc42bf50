import assert from "node:assert/strict";
import { ConfigError } from "./parse.ts";
import { FILE, issuesOf, lines, parse, SCRIPT } from "./_testing.ts";

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
      'unknown key "colour"; expected one of site, host, data_dir, log_dir, api_port, log_level, sample_interval, memory_warn, disk_warn, history, log_dir_max, calendar',
  }]);
  const unknown = issuesOf(lines("[collector]", "heartbeat = 1"))
    .find((issue) => issue.path === "collector.heartbeat");
  assert.equal(unknown?.message, 'unknown key "heartbeat"; did you mean "heartbeat_interval"?');
  const wrong = issuesOf(lines("[collector]", "colour = 1")).find((i) =>
    i.path === "collector.colour"
  );
  assert.match(wrong?.message ?? "", /^unknown key "colour"; expected one of url, token, /);
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
      'expected one of "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "ctrl-c", "ctrl-break", "terminate", got "SIGSTOP"',
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
      `${FILE}:10: scripts.bad.stop_signal: expected one of "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "ctrl-c", "ctrl-break", "terminate", got "TERM"`,
    ].join("\n"),
  );
  assert.equal(error.issues.length, 5);
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
    urls: ["https://scriptmon.example/"],
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
    urls: ["http://127.0.0.1:8792/scriptmon/"],
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

Deno.test("parseConfig() takes a list of collector URLs (replicas) and names a bad one by index", () => {
  const config = parse(lines(
    "[collector]",
    'url = ["https://a.example/scriptmon", "https://b.example/"]',
    'token = "t"',
  ));
  assert.deepEqual(config.collector?.urls, [
    "https://a.example/scriptmon/",
    "https://b.example/",
  ]);
  assert.equal(config.collector?.url, "https://a.example/scriptmon/");
  const [issue] = issuesOf(
    lines("[collector]", 'url = ["https://a.example/", "http://b.example/"]', 'token = "t"'),
  );
  assert.equal(issue.path, "collector.url.1");
  assert.equal(
    issue.message,
    'expected an https:// URL (plain http:// only to 127.0.0.1 or localhost), got "http://b.example/"',
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

Deno.test('parseConfig() refuses singleton = "site" without a [collector] table, at the key\'s line', () => {
  const issues = issuesOf(SCRIPT + 'singleton = "site"\n');
  assert.equal(issues.length, 1);
  assert.equal(issues[0].path, "scripts.rates.singleton");
  assert.equal(issues[0].line, 3);
  assert.equal(
    issues[0].message,
    'expected singleton = "site" only together with a [collector] table (the site lease is held ' +
      'at the collector; "machine" needs none), got "site" without one',
  );
});

Deno.test('parseConfig() reads singleton = "machine" and "none" without a [collector] table', () => {
  assert.equal(parse(SCRIPT + 'singleton = "machine"\n').scripts.rates.singleton, "machine");
  assert.equal(parse(SCRIPT + 'singleton = "none"\n').scripts.rates.singleton, "none");
});

Deno.test('parseConfig() refuses a singleton scope other than "site"', () => {
  const issues = issuesOf(SCRIPT + 'singleton = "fleet"\n' + COLLECTOR, { vars: { TOKEN: "t" } });
  assert.equal(issues.length, 1);
  assert.equal(issues[0].path, "scripts.rates.singleton");
  assert.match(issues[0].message, /"site".*"fleet"/);
});

Deno.test('parseConfig() reads replicas with singleton = "site" and refuses it without', () => {
  const config = parse(SCRIPT + 'singleton = "site"\nreplicas = 3\n' + COLLECTOR, {
    vars: { TOKEN: "t" },
  });
  assert.equal(config.scripts.rates.replicas, 3);
  const [issue] = issuesOf(SCRIPT + "replicas = 3\n");
  assert.deepEqual([issue.path, issue.line, issue.message], [
    "scripts.rates.replicas",
    3,
    'expected replicas only with singleton = "site" (the copies are spread over the site\'s ' +
    "agents by the collector's leases), got 3",
  ]);
  assert.equal(
    issuesOf(SCRIPT + 'singleton = "site"\nreplicas = 0\n' + COLLECTOR, { vars: { TOKEN: "t" } })[0]
      .path,
    "scripts.rates.replicas",
  );
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

// --- calendars --------------------------------------------------------------

const CALENDAR = lines(
  "[calendars.day_shift]",
  'timezone = "Europe/Berlin"',
  'hours = ["Mon-Fri 06:00-18:00"]',
  'holidays = ["2026-12-25"]',
);

Deno.test("parseConfig() reads a script's active hours, off_hours and skip_on from a calendar", () => {
  const config = parse(
    lines(
      "[agent]",
      'calendar = "day_shift"',
      "[scripts.rates]",
      'command = ["x"]',
      'active = "day_shift"',
      'off_hours = "relax"',
      "[scripts.report]",
      'command = ["x"]',
      'schedule = "0 7 * * *"',
      'skip_on = ["holidays"]',
    ) + CALENDAR,
  );
  const { active } = config.scripts.rates;
  assert.equal(active?.calendar.name, "day_shift");
  assert.equal(active?.offHours, "relax");
  assert.equal(active?.relaxFactor, 4);
  assert.equal(config.scripts.report.skipHolidays?.name, "day_shift");
  assert.equal(config.scripts.report.active, undefined);
  assert.deepEqual([...config.calendars.keys()], ["day_shift"]);
});

Deno.test("parseConfig() refuses a calendar nobody configured, and skip_on with no calendar", () => {
  const issues = issuesOf(
    SCRIPT + lines('active = "nights"', "[scripts.report]", 'command = ["x"]') +
      lines('schedule = "0 7 * * *"', 'skip_on = ["holidays"]') +
      lines("[[notify.routes]]", 'webhooks = ["ops"]', 'calendar = "nights"') +
      lines("[webhooks.ops]", 'kind = "slack"', 'url = "https://hooks.slack.com/services/T/B/x"') +
      CALENDAR,
  );
  assert.deepEqual(issues.map((i) => [i.path, i.message]), [
    [
      "scripts.rates.active",
      'expected the name of a [calendars.<name>] table (day_shift), got "nights"',
    ],
    [
      "scripts.report.skip_on",
      'expected skip_on = ["holidays"] with a calendar to take them from (the script\'s active, ' +
      "or [agent] calendar), got it without one",
    ],
    [
      "notify.routes.0.calendar",
      'expected the name of a [calendars.<name>] table (day_shift), got "nights"',
    ],
  ]);
});

import assert from "node:assert/strict";

import { issuesOf, lines, parse, SCRIPT } from "./_testing.ts";

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
        minIntervalMs: 15_000,
        maxIntervalMs: 60_000,
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
        minIntervalMs: 7_500,
        maxIntervalMs: 30_000,
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
        minIntervalMs: 7_500,
        maxIntervalMs: 30_000,
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
  const common = {
    intervalMs: 30_000,
    minIntervalMs: 7_500,
    maxIntervalMs: 30_000,
    timeoutMs: 5_000,
    failures: 3,
    action: alert,
  };
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

Deno.test("a probe's interval bounds default to a quarter of the interval (at least 1s) and the interval", () => {
  const config = parse(
    SCRIPT + lines(
      "[[scripts.rates.probes]]",
      'kind = "tcp"\nhost = "127.0.0.1"\nport = 1\ninterval = "2s"\ntimeout = "1s"',
      "[[scripts.rates.probes]]",
      'kind = "tcp"\nhost = "127.0.0.1"\nport = 2\nmin_interval = "5s"\nmax_interval = "5m"',
    ),
  );
  const [short, bounded] = config.scripts.rates.health.probes;
  assert.deepEqual([short.minIntervalMs, short.maxIntervalMs], [1_000, 2_000]);
  assert.deepEqual(
    [bounded.minIntervalMs, bounded.intervalMs, bounded.maxIntervalMs],
    [5_000, 30_000, 300_000],
  );
});

Deno.test("a probe's min_interval above its interval, or max_interval below it, is refused", () => {
  assert.deepEqual(
    issuesOf(
      SCRIPT + lines(
        "[[scripts.rates.probes]]",
        'kind = "tcp"\nhost = "127.0.0.1"\nport = 1\nmin_interval = "1m"\nmax_interval = "10s"',
      ),
    ).map((i) => [i.path, i.message]),
    [
      ["scripts.rates.probes.0.min_interval", 'expected min_interval ≤ interval (30s), got "1m"'],
      ["scripts.rates.probes.0.max_interval", 'expected max_interval ≥ interval (30s), got "10s"'],
    ],
  );
});

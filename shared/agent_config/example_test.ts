import assert from "node:assert/strict";
import { join } from "node:path";
import { agentSchema, collectorSchema, logSchema, restartSchema, scriptSchema } from "./schema.ts";
import { limitsSchema, PROBE_SCHEMAS } from "./health_schema.ts";
import { EXAMPLE, parseExample, ROOT } from "./_testing.ts";

// --- config.example.toml -------------------------------------------------

Deno.test("config.example.toml loads without --env and resolves the Windows scripts", async () => {
  const config = await parseExample();
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
    historyMs: 14 * 86_400_000,
    logDirMaxBytes: 2_000_000_000,
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
        minIntervalMs: 7_500,
        maxIntervalMs: 30_000,
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
        minIntervalMs: 7_500,
        maxIntervalMs: 30_000,
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
        minIntervalMs: 15_000,
        maxIntervalMs: 60_000,
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
  const config = await parseExample({ envName: "demo" });
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

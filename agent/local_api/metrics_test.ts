import assert from "node:assert/strict";
import type { StatusBody } from "./status.ts";
import { renderMetrics } from "./metrics.ts";
import { escapeLabelValue } from "../../shared/prometheus.ts";
import { promtoolCheck } from "../../tests/_promtool.ts";
import type { ScriptStatus } from "../supervise/state.ts";
import { check, iso, NOW, script } from "../../tests/_status_fixtures.ts";

function statusBody(scripts: ScriptStatus[], configFailed = false): StatusBody {
  return {
    agent: {
      version: "0.4.0",
      pid: 4242,
      site: "BFI4",
      host: "ws-17",
      configPath: "/etc/scriptmon/config.toml",
      envName: null,
      startedAt: iso(3600),
      configError: configFailed
        ? { at: iso(60), message: "Invalid config at agent.site", issues: [] }
        : null,
      resources: {
        at: iso(2),
        rssBytes: 52_428_800,
        cpuSeconds: 12.5,
        disk: [{ path: "/data", freeBytes: 10_000_000_000 }, { path: "/logs", freeBytes: null }],
      },
      checks: [],
      collector: null,
      store: { at: iso(30), bytes: 1_245_184, oldestAt: iso(86_400), historyMs: 14 * 86_400_000 },
    },
    scripts,
  };
}

function realistic(): StatusBody {
  return statusBody([
    script("token_monitor", {
      state: "running",
      pid: 1234,
      startedAt: iso(90),
      uptimeMs: 90_000,
      restarts: 2,
      health: "unhealthy",
      checks: [
        check("heartbeat", { status: "failing", reason: "no ping for 3m", failuresTotal: 3 }),
        check("memory", { status: "ok", failuresTotal: 1 }),
      ],
      resources: {
        at: iso(2),
        rssBytes: 31_000_000,
        cpuSeconds: 4.25,
        cpuPercent: 1.5,
        processes: 2,
      },
      heartbeat: {
        lastPingAt: iso(180),
        lastStartAt: null,
        lastFailAt: null,
        lastMessage: null,
        pings: 40,
      },
    }),
    script("rates", {
      state: "backoff",
      restarts: 5,
      health: "healthy",
      checks: [check("silence")],
    }),
    script("idle", { state: "stopped" }),
  ]);
}

function familyLines(text: string, name: string): string[] {
  return text.split("\n").filter((line) =>
    line.startsWith(`${name} `) || line.startsWith(`${name}{`) ||
    line.startsWith(`# HELP ${name} `) || line.startsWith(`# TYPE ${name} `)
  );
}

function samples(text: string, name: string): string[] {
  return familyLines(text, name).filter((line) => !line.startsWith("#"));
}

Deno.test("renderMetrics() gives the agent's info, start time, resources and reload flag", () => {
  const text = renderMetrics(statusBody([], true), { now: NOW });
  assert.deepEqual(familyLines(text, "scriptmon_agent_info"), [
    "# HELP scriptmon_agent_info Agent build and placement; the value is always 1.",
    "# TYPE scriptmon_agent_info gauge",
    'scriptmon_agent_info{version="0.4.0",site="BFI4",host="ws-17"} 1',
  ]);
  assert.deepEqual(samples(text, "scriptmon_agent_start_time_seconds"), [
    `scriptmon_agent_start_time_seconds ${(NOW - 3_600_000) / 1000}`,
  ]);
  assert.deepEqual(samples(text, "scriptmon_agent_resident_memory_bytes"), [
    "scriptmon_agent_resident_memory_bytes 52428800",
  ]);
  assert.deepEqual(samples(text, "scriptmon_agent_cpu_seconds_total"), [
    "scriptmon_agent_cpu_seconds_total 12.5",
  ]);
  assert.deepEqual(samples(text, "scriptmon_agent_disk_free_bytes"), [
    'scriptmon_agent_disk_free_bytes{path="/data"} 10000000000',
  ]);
  assert.deepEqual(samples(text, "scriptmon_agent_config_reload_failed"), [
    "scriptmon_agent_config_reload_failed 1",
  ]);
  assert.deepEqual(samples(text, "scriptmon_agent_store_bytes"), [
    "scriptmon_agent_store_bytes 1245184",
  ]);
  assert.deepEqual(samples(text, "scriptmon_agent_store_oldest_record_timestamp_seconds"), [
    `scriptmon_agent_store_oldest_record_timestamp_seconds ${(NOW - 86_400_000) / 1000}`,
  ]);
});

Deno.test("renderMetrics() gives one state sample per script state, 1 for the current one", () => {
  const text = renderMetrics(realistic(), { now: NOW });
  const backoff = samples(text, "scriptmon_script_state").filter((l) => l.includes('"rates"'));
  assert.deepEqual(backoff, [
    'scriptmon_script_state{script="rates",state="starting"} 0',
    'scriptmon_script_state{script="rates",state="running"} 0',
    'scriptmon_script_state{script="rates",state="backoff"} 1',
    'scriptmon_script_state{script="rates",state="crash-looping"} 0',
    'scriptmon_script_state{script="rates",state="stopping"} 0',
    'scriptmon_script_state{script="rates",state="stopped"} 0',
    'scriptmon_script_state{script="rates",state="exited"} 0',
    'scriptmon_script_state{script="rates",state="scheduled"} 0',
    'scriptmon_script_state{script="rates",state="failed"} 0',
    'scriptmon_script_state{script="rates",state="waiting-for-token"} 0',
  ]);
  assert.deepEqual(samples(text, "scriptmon_script_up"), [
    'scriptmon_script_up{script="token_monitor"} 1',
    'scriptmon_script_up{script="rates"} 0',
    'scriptmon_script_up{script="idle"} 0',
  ]);
});

Deno.test("renderMetrics() leaves out health while unknown and uptime while not running", () => {
  const text = renderMetrics(realistic(), { now: NOW });
  assert.deepEqual(samples(text, "scriptmon_script_healthy"), [
    'scriptmon_script_healthy{script="token_monitor"} 0',
    'scriptmon_script_healthy{script="rates"} 1',
  ]);
  assert.deepEqual(samples(text, "scriptmon_script_uptime_seconds"), [
    'scriptmon_script_uptime_seconds{script="token_monitor"} 90',
  ]);
  assert.deepEqual(samples(text, "scriptmon_script_restarts_total"), [
    'scriptmon_script_restarts_total{script="token_monitor"} 2',
    'scriptmon_script_restarts_total{script="rates"} 5',
    'scriptmon_script_restarts_total{script="idle"} 0',
  ]);
});

Deno.test("renderMetrics() gives resources, heartbeat age and checks of a running script", () => {
  const text = renderMetrics(realistic(), { now: NOW });
  assert.deepEqual(samples(text, "scriptmon_script_resident_memory_bytes"), [
    'scriptmon_script_resident_memory_bytes{script="token_monitor"} 31000000',
  ]);
  assert.deepEqual(samples(text, "scriptmon_script_cpu_seconds_total"), [
    'scriptmon_script_cpu_seconds_total{script="token_monitor"} 4.25',
  ]);
  assert.deepEqual(samples(text, "scriptmon_script_last_heartbeat_age_seconds"), [
    'scriptmon_script_last_heartbeat_age_seconds{script="token_monitor"} 180',
  ]);
  assert.deepEqual(familyLines(text, "scriptmon_script_check_failing"), [
    "# HELP scriptmon_script_check_failing 1 while the check is failing, else 0 (a warning is not failing).",
    "# TYPE scriptmon_script_check_failing gauge",
    'scriptmon_script_check_failing{script="token_monitor",check="heartbeat"} 1',
    'scriptmon_script_check_failing{script="token_monitor",check="memory"} 0',
    'scriptmon_script_check_failing{script="rates",check="silence"} 0',
  ]);
  assert.deepEqual(samples(text, "scriptmon_script_check_failures_total"), [
    'scriptmon_script_check_failures_total{script="token_monitor",check="heartbeat"} 3',
    'scriptmon_script_check_failures_total{script="token_monitor",check="memory"} 1',
    'scriptmon_script_check_failures_total{script="rates",check="silence"} 0',
  ]);
});

Deno.test("renderMetrics() emits each family once, HELP and TYPE before its samples", () => {
  const text = renderMetrics(realistic(), { now: NOW });
  assert.ok(text.endsWith("\n"));
  const order = text.split("\n").filter((l) => l !== "").map((l) =>
    l.startsWith("#") ? l.split(" ")[2] : l.replace(/[{ ].*/, "")
  );
  const blocks = order.filter((name, i) => i === 0 || order[i - 1] !== name);
  assert.deepEqual(blocks, [...new Set(order)]);
  for (const name of new Set(order)) {
    const lines = familyLines(text, name);
    assert.match(lines[0], new RegExp(`^# HELP ${name} .+`));
    assert.match(lines[1], new RegExp(`^# TYPE ${name} (gauge|counter)$`));
  }
});

Deno.test("renderMetrics() escapes backslash, quote and newline in label values", () => {
  const text = renderMetrics(statusBody([script('say "hi" C:\\fc\nnext')]), { now: NOW });
  assert.deepEqual(samples(text, "scriptmon_script_up"), [
    'scriptmon_script_up{script="say \\"hi\\" C:\\\\fc\\nnext"} 0',
  ]);
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

Deno.test("renderMetrics() gives the outbox's messages by state, every state present", () => {
  const text = renderMetrics(statusBody([]), {
    now: NOW,
    notifications: { sent: 12, retrying: 2, "dead-lettered": 1 },
  });
  const lines = samples(text, "scriptmon_agent_notifications");
  assert.equal(lines.length, 9);
  assert.ok(lines.includes('scriptmon_agent_notifications{state="retrying"} 2'));
  assert.ok(lines.includes('scriptmon_agent_notifications{state="dead-lettered"} 1'));
  assert.ok(lines.includes('scriptmon_agent_notifications{state="uncertain"} 0'));
  assert.equal(
    samples(renderMetrics(statusBody([]), { now: NOW }), "scriptmon_agent_notifications").length,
    0,
  );
});

Deno.test("renderMetrics() output passes `promtool check metrics` without lint complaints", async () => {
  const text = renderMetrics(
    statusBody([...realistic().scripts, script('odd "name" \\ here')], true),
    { now: NOW, notifications: { sent: 3, uncertain: 1 } },
  );
  const { code, complaints } = await promtoolCheck(text);
  assert.equal(complaints, "", `promtool complained about:\n${text}`);
  assert.equal(code, 0);
});

import assert from "node:assert/strict";
import type { ResolvedHeartbeat } from "../../shared/agent_config/types.ts";
import { HeartbeatCheck } from "./heartbeat.ts";

const config: ResolvedHeartbeat = {
  timeoutMs: 60_000,
  graceMs: 10_000,
  action: { alert: true, restart: false },
};

Deno.test("a running script that never pings fails at timeout + grace after its start", () => {
  const hb = new HeartbeatCheck(config, { scheduled: false, now: 0 });
  hb.runStarted(1000);
  assert.equal(hb.evaluate(1000), null, "still unknown");
  assert.equal(hb.state.reason, "waiting for the first ping of this run");
  assert.equal(hb.deadline(), 71_000);
  assert.equal(hb.evaluate(70_999), null);
  const failed = hb.evaluate(71_000);
  assert.equal(failed?.status, "failing");
  assert.equal(failed?.reason, "no ping since the start 1m 10s ago (timeout 1m + grace 10s)");
  assert.equal(failed?.value, 70);
  assert.equal(failed?.threshold, 70);
});

Deno.test("each ping moves the deadline; a missed one fails, the next ping recovers", () => {
  const hb = new HeartbeatCheck(config, { scheduled: false, now: 0 });
  hb.runStarted(0);
  assert.equal(hb.ping("success", 30_000)?.status, "ok");
  assert.equal(hb.deadline(), 100_000);
  assert.equal(hb.evaluate(99_000), null);
  assert.equal(hb.evaluate(100_000)?.reason, "no ping for 1m 10s (timeout 1m + grace 10s)");
  assert.equal(hb.ping("success", 120_000)?.status, "ok");
  assert.equal(hb.state.failuresTotal, 1);
  assert.equal(hb.info().pings, 2);
});

Deno.test("a /fail ping fails at once and keeps its body as the last message", () => {
  const hb = new HeartbeatCheck(config, { scheduled: false, now: 0 });
  hb.runStarted(0);
  const failed = hb.ping("fail", 5000, "token expired");
  assert.equal(failed?.status, "failing");
  assert.equal(failed?.reason, "the script reported a failure: token expired");
  assert.equal(hb.info().lastMessage, "token expired");
  assert.equal(hb.deadline(), null, "no deadline while it says it failed");
  assert.equal(hb.ping("success", 6000)?.status, "ok");
});

Deno.test("a stopped script's heartbeat waits instead of failing", () => {
  const hb = new HeartbeatCheck(config, { scheduled: false, now: 0 });
  hb.runStarted(0);
  hb.ping("success", 1000);
  assert.equal(hb.runEnded(2000)?.status, "unknown");
  assert.equal(hb.deadline(), null);
  assert.equal(hb.evaluate(1_000_000), null);
});

Deno.test("a scheduled run that started and never finished is caught", () => {
  const hb = new HeartbeatCheck(config, { scheduled: true, now: 0 });
  hb.runStarted(0);
  hb.ping("start", 100);
  assert.equal(hb.deadline(), 70_100);
  const failed = hb.evaluate(70_100);
  assert.equal(failed?.status, "failing");
  assert.match(failed!.reason, /^the run started 1m 10s ago has not pinged/);
});

Deno.test("a scheduled run that pinged keeps its verdict until the next run", () => {
  const hb = new HeartbeatCheck(config, { scheduled: true, now: 0 });
  hb.runStarted(0);
  assert.equal(hb.ping("success", 5000)?.status, "ok");
  assert.equal(hb.runEnded(6000), null);
  assert.equal(hb.deadline(), null);
  assert.equal(hb.state.status, "ok");
  hb.runStarted(3_600_000);
  assert.equal(hb.deadline(), 3_670_000);
});

Deno.test("a scheduled run that ends without a ping fails", () => {
  const hb = new HeartbeatCheck(config, { scheduled: true, now: 0 });
  hb.runStarted(0);
  const failed = hb.runEnded(2000);
  assert.equal(failed?.status, "failing");
  assert.equal(failed?.reason, "the run started 2s ago ended without a ping");
});

Deno.test("a failing heartbeat asks for no further timer until the next ping", () => {
  const hb = new HeartbeatCheck(config, { scheduled: false, now: 0 });
  hb.runStarted(0);
  assert.equal(hb.nextCheckAt(), 70_000);
  hb.evaluate(70_000);
  assert.equal(hb.state.status, "failing");
  assert.equal(hb.nextCheckAt(), null, "a timer in the past would spin");
  hb.ping("success", 80_000);
  assert.equal(hb.nextCheckAt(), 150_000);
});

Deno.test("stretched outside relaxed active hours, the heartbeat waits relax_factor times longer", () => {
  const hb = new HeartbeatCheck(config, { scheduled: false, now: 0 });
  hb.runStarted(0);
  hb.stretch = 4;
  assert.equal(hb.deadline(), 280_000);
  assert.equal(hb.evaluate(100_000), null);
  assert.equal(
    hb.evaluate(280_000)?.reason,
    "no ping since the start 4m 40s ago (timeout 4m + grace 40s, 4× outside its active hours)",
  );
});

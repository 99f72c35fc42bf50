import assert from "node:assert/strict";
import { describeEvent } from "./event_text.ts";

Deno.test("describeEvent() reads a state change with its pid, exit and reason as a sentence", () => {
  assert.equal(
    describeEvent("state", {
      from: "running",
      state: "backoff",
      pid: 20724,
      exitCode: 3,
      reason: "4 restarts within 1m; next start in 30s",
    }),
    "running → backoff, pid 20724, exit code 3: 4 restarts within 1m; next start in 30s",
  );
  assert.equal(describeEvent("state", { state: "running", pid: 20724 }), "running, pid 20724");
});

Deno.test("describeEvent() says an exit once and a killed run by its signal", () => {
  assert.equal(
    describeEvent("exit", { state: "running", pid: 7, exitCode: 3, reason: "exited with code 3" }),
    "running, pid 7: exited with code 3",
  );
  assert.equal(
    describeEvent("exit", { pid: 7, signal: "SIGKILL", reason: "the agent stopped it" }),
    "pid 7, killed by SIGKILL: the agent stopped it",
  );
});

Deno.test("describeEvent() reads a check's change and a restart it caused", () => {
  assert.equal(
    describeEvent("check", {
      check: "memory",
      status: "failing",
      previous: "ok",
      value: 612_000_000,
      restarted: true,
      reason: "restarting: memory 612 MB over the restart limit 500 MB",
    }),
    "memory ok → failing, restarted: restarting: memory 612 MB over the restart limit 500 MB",
  );
});

Deno.test("describeEvent() never prints JSON: other plain fields as words, nested values left out", () => {
  const text = describeEvent("agent", { pid: 20724, version: "0.1.0", extra: { a: 1 } });
  assert.equal(text, "pid 20724, version 0.1.0");
  assert.doesNotMatch(text, /[{}"]/);
  assert.equal(
    describeEvent("config", { reason: "reloaded: changed rates" }),
    "reloaded: changed rates",
  );
});

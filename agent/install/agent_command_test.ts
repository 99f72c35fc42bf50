import assert from "node:assert/strict";
import { agentCommand } from "./agent_command.ts";

Deno.test("agentCommand() is the compiled binary, the zip's launcher, or deno with the checkout's entry", () => {
  assert.deepEqual(agentCommand("/opt/scriptmon/scriptmon-agent", "file:///x.js", "linux"), [
    "/opt/scriptmon/scriptmon-agent",
  ]);
  assert.deepEqual(
    agentCommand("/opt/agent/deno", "file:///opt/agent/scriptmon-agent.js", "linux"),
    ["/opt/agent/scriptmon-agent"],
  );
  assert.deepEqual(
    agentCommand("/usr/bin/deno", "file:///src/scriptmon/agent/main.ts", "linux"),
    [
      "/usr/bin/deno",
      "run",
      "--allow-all",
      "--unstable-kv",
      "--unstable-no-legacy-abort",
      "/src/scriptmon/agent/main.ts",
    ],
  );
});

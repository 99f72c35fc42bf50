/**
 * A token's value goes to its validation request and nowhere else: not the
 * agent's log (not even through a refresh command that prints it), not
 * status, the page, /metrics, `once`, or the event history.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openKv, STORE_FILE } from "../agent/mod.ts";
import { EventLog } from "../agent/supervise/mod.ts";
import { cookieFile, refreshCommand, TokenServer } from "../agent/tokens/_testing.ts";
import { agentCli, AgentProcess, fixtureScript, writeConfig } from "./_agent_process.ts";
import { tempDir, until } from "./_helpers.ts";

Deno.test("a token's value appears in no log, status, page, metrics, once report or event", async () => {
  await using dir = await tempDir();
  await using server = new TokenServer(); // accepts nothing: validation fails, refresh runs
  const secret = `s3cr3t-${crypto.randomUUID()}`;
  const cookies = cookieFile([
    { name: "session", value: secret, expiresAt: Date.now() + 8 * 3600_000, httpOnly: true },
  ]);
  await Deno.writeTextFile(join(dir.path, "cookies.txt"), cookies);
  // The "refresh" writes the same cookie again and prints it, as a careless CLI might.
  await Deno.writeTextFile(join(dir.path, "fresh.txt"), cookies);
  const refresh = refreshCommand(join(dir.path, "fresh.txt"), join(dir.path, "cookies.txt"));
  const path = await writeConfig(
    dir.path,
    fixtureScript("picker", "print_hang.ts", "1"),
    [
      "[tokens.midway]",
      'format = "cookie"',
      'file = "cookies.txt"',
      'cookie = "session"',
      'used_by = ["picker"]',
      "[tokens.midway.validate]",
      `url = "${server.url}"`,
      'cookie = "session"',
      "[tokens.midway.refresh]",
      `command = ${JSON.stringify(refresh)}`,
      'min_delay = "1h"',
    ].join("\n"),
  );
  const outputs: Record<string, string> = {};
  let stderr: string;
  {
    await using agent = new AgentProcess(path);
    const port = await agent.ready();
    const status = await until("the refresh to have run", async () => {
      const body = await agent.status();
      return body.tokens?.[0]?.refresh?.lastOk === false && body;
    });
    assert.equal(status.tokens![0].state, "invalid");
    assert.equal(status.scripts[0].state, "waiting-for-token");
    const get = async (route: string) =>
      await (await fetch(`http://127.0.0.1:${port}${route}`)).text();
    outputs.apiStatus = JSON.stringify(status);
    outputs.metrics = await get("/metrics");
    outputs.page = await get("/");
    outputs.statusJson = (await agentCli("status", "--json", "--config", path)).stdout;
    outputs.statusTable = (await agentCli("status", "--config", path)).stdout;
    outputs.onceDaemon = (await agentCli("once", "--json", "--config", path)).stdout;
    assert.match(outputs.metrics, /^scriptmon_token_expiry_seconds\{token="midway"\} \d+$/m);
    assert.match(outputs.statusTable, /^midway +invalid /m);
    assert.match(outputs.onceDaemon, /"check": "token:midway",\s+"severity": "critical"/);
    agent.child.kill("SIGTERM");
    await agent.child.status;
    stderr = await agent.stderr();
  }
  const once = await agentCli("once", "--json", "--config", path);
  assert.equal(once.code, 2, once.stdout); // the token is invalid: critical
  outputs.once = once.stdout + once.stderr;
  outputs.stderr = stderr;
  outputs.agentLog = await Deno.readTextFile(join(dir.path, "data", "logs", "agent.log"));
  const kv = await openKv(join(dir.path, "data", STORE_FILE));
  try {
    outputs.events = JSON.stringify(await (await EventLog.open(kv)).list({ limit: 10_000 }));
  } finally {
    kv.close();
  }

  assert.ok(server.seen.includes(secret), "the validation request carried the token");
  assert.match(outputs.agentLog, /^.*refresh midway out: .*\tsession\t\[redacted\]$/m);
  for (const [where, text] of Object.entries(outputs)) {
    assert.ok(text.length > 0, `${where} is not empty`);
    assert.ok(!text.includes(secret), `the token's value is in ${where}`);
  }
});

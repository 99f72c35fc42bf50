/**
 * Secrets at rest in the agent's config: `enc:v1:` values for a webhook URL
 * and the collector token, decrypted with the key from the environment,
 * used, and shown nowhere: not in the log, stderr, status, the local API's
 * answers, the metrics, `validate --json` or errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encryptSecret, generateKey, parseKey } from "../shared/config/mod.ts";
import { agentArgv, AgentProcess, writeConfig } from "./_agent_process.ts";
import { until } from "./_helpers.ts";

/** What must never show. */
const PLANTED_HOOK = "T0PLANT/B0PLANT/hook-secret-9f8e7d";
const PLANTED_TOKEN = "smag_plantedcollectortokenvalue0123456789abcdefghij";

async function cli(env: Record<string, string>, ...args: string[]) {
  const [cmd, ...rest] = agentArgv(...args);
  const out = await new Deno.Command(cmd, {
    args: rest,
    stdin: "null",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("the agent decrypts enc:v1: values, uses them, and never shows them", async () => {
  // The chat provider refuses, echoing the URL; the collector records the token it was sent.
  const hookPaths: string[] = [];
  const hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    hookPaths.push(new URL(req.url).pathname);
    return new Response(`unknown webhook ${req.url}`, { status: 404 });
  });
  const tokensSeen: string[] = [];
  const collector = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    tokensSeen.push(req.headers.get("authorization") ?? "");
    return new Response(
      JSON.stringify({ error: `bad token ${req.headers.get("authorization")}` }),
      {
        status: 401,
      },
    );
  });
  const dir = await Deno.makeTempDir({ prefix: "agent-secrets-" });
  try {
    const keyText = generateKey();
    const key = parseKey(keyText, "test");
    const hookUrl = encryptSecret(
      `http://127.0.0.1:${hook.addr.port}/services/${PLANTED_HOOK}`,
      key,
    );
    const token = encryptSecret(PLANTED_TOKEN, key);
    const config = await writeConfig(
      dir,
      `[scripts.idle]\ncommand = ["sleep", "600"]\n\n` +
        `[scripts.envdump]\ncommand = ["/bin/sh", "-c", "env; echo ENV-END; exec sleep 600"]\n`,
      `\n[collector]\nurl = "http://127.0.0.1:${collector.addr.port}/"\ntoken = "${token}"\n` +
        `heartbeat_interval = "1s"\ntimeout = "2s"\n\n` +
        `[webhooks.ops]\nkind = "slack"\nurl = "${hookUrl}"\n`,
    );
    const env = { SCRIPTMON_SECRET_KEY: keyText };

    const noKey = await cli({}, "validate", "--config", config);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /collector\.token.*no key: set SCRIPTMON_SECRET_KEY/);
    const wrongKey = await cli(
      { SCRIPTMON_SECRET_KEY: generateKey() },
      "validate",
      "--config",
      config,
    );
    assert.equal(wrongKey.code, 2);
    assert.match(wrongKey.stderr, /webhooks\.ops\.url: cannot decrypt/);

    await using agent = new AgentProcess(config, { env });
    const port = await agent.ready();
    const local = (path: string, init?: RequestInit) =>
      fetch(`http://127.0.0.1:${port}${path}`, init);
    const relayed = await local("/relay/ops", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "dock 4 rate 120/h" }),
    });
    assert.equal(relayed.status, 202, await relayed.text());
    await until("the provider called at the decrypted URL", () => hookPaths.length > 0);
    assert.equal(hookPaths[0], `/services/${PLANTED_HOOK}`);
    await until("the collector sent the decrypted token", () => tokensSeen.length > 0);
    assert.equal(tokensSeen[0], `Bearer ${PLANTED_TOKEN}`);
    const notes = await until("the refusal recorded", async () => {
      const { stdout } = await cli(env, "notifications", "--json", "--config", config);
      return stdout.includes("404") ? stdout : undefined;
    });

    // A script never gets the key (nor the collector token) in its environment.
    await agent.logMatch("envdump", /ENV-END/);
    const dumped = await Deno.readTextFile(join(agent.dataDir, "logs", "envdump.log"));
    assert.match(dumped, /PATH=/);
    assert.ok(!dumped.includes("SCRIPTMON_SECRET_KEY") && !dumped.includes(keyText), dumped);

    const outputs: Record<string, string> = {
      notifications: notes,
      status: await (await local("/api/status")).text(),
      metrics: await (await local("/metrics")).text(),
      page: await (await local("/")).text(),
      "status --json": (await cli(env, "status", "--json", "--config", config)).stdout,
      "validate --json": (await cli(env, "validate", "--json", "--config", config)).stdout,
    };
    await agent[Symbol.asyncDispose]();
    outputs.stderr = await agent.stderr();
    outputs["agent.log"] = await Deno.readTextFile(join(agent.dataDir, "logs", "agent.log"))
      .catch(() => "");
    for (const [where, text] of Object.entries(outputs)) {
      assert.ok(text.length > 0, `${where} has output`);
      for (const planted of [PLANTED_HOOK, PLANTED_TOKEN]) {
        assert.ok(!text.includes(planted), `no secret in ${where}: ${text.slice(0, 2000)}`);
      }
    }
  } finally {
    await hook.shutdown();
    await collector.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

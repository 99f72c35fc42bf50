/**
 * Secrets at rest in the collector's config: an `enc:v1:` webhook URL is
 * decrypted with the key from the environment, used, and shown nowhere: not
 * in the log, not in the API's notification history, not in CLI errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ingestRequest } from "../collector/_testing.ts";
import { freePort } from "./_fleet.ts";
import { until } from "./_helpers.ts";
import { collectorCli } from "./_cli.ts";

const MAIN = new URL("../collector/main.ts", import.meta.url).pathname;
/** What must never show: the secret part of the webhook URL. */
const PLANTED = "T0SECRET/B0SECRET/planted-xoxb-4242";

const cli = (config: string, env: Record<string, string>, args: string[], stdin = "") =>
  collectorCli(config, args, { env, stdin });

Deno.test("an enc:v1: webhook URL is decrypted, used, and redacted everywhere it could show", async () => {
  // The provider refuses, echoing the URL it was called on, as some do.
  const paths: string[] = [];
  const hookServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    paths.push(path);
    return new Response(`no such hook: ${req.url} (${path})`, { status: 404 });
  });
  const dir = await Deno.makeTempDir({ prefix: "collector-secrets-" });
  let server: Deno.ChildProcess | null = null;
  try {
    const keyFile = join(dir, "secret.key");
    const config = join(dir, "collector.toml");
    await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
    const made = await cli(config, {}, ["secret", "keygen", "--out", keyFile]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    const env = { SCRIPTMON_SECRET_KEY_FILE: keyFile };
    const url = `http://127.0.0.1:${hookServer.addr.port}/services/${PLANTED}`;
    const encrypted = await cli(config, env, ["secret", "encrypt"], `${url}\n`);
    assert.equal(encrypted.code, 0, encrypted.stderr);
    assert.match(encrypted.stdout, /^enc:v1:[A-Za-z0-9_-]+$/);

    const port = freePort();
    await Deno.writeTextFile(
      config,
      `[collector]\nlisten = "127.0.0.1:${port}"\ndata_dir = "data"\noffline_after = "2s"\n\n` +
        `[webhooks.ops]\nkind = "slack"\nurl = "${encrypted.stdout}"\n\n` +
        `[notify]\ngroup_wait = "0s"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
    );
    const noKey = await cli(config, {}, ["agent-token", "list"]);
    assert.equal(noKey.code, 2);
    assert.match(
      noKey.stderr,
      /webhooks\.ops\.url: an enc:v1: value, but no key: set SCRIPTMON_SECRET_KEY/,
    );

    const agentToken = (await cli(config, env, ["agent-token", "create", "BFI4", "ws-01"])).stdout;
    const apiToken = (await cli(config, env, ["api-token", "create", "ops"])).stdout;
    server = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "--config", config, "serve"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    const output = Promise.all([
      new Response(server.stdout).text(),
      new Response(server.stderr).text(),
    ]);
    const base = `http://127.0.0.1:${port}`;
    await until("the collector answers", async () => {
      try {
        return (await fetch(`${base}/healthz`).then((r) => r.text())).includes("ok");
      } catch {
        return false;
      }
    }, 30_000);
    // One heartbeat, then silence: the agent goes offline and ops is told.
    const ingested = await fetch(`${base}/api/v1/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${agentToken}`, "content-type": "application/json" },
      body: JSON.stringify(ingestRequest({ host: "ws-01" })),
    });
    assert.equal(ingested.status, 200, await ingested.text());
    await until("the webhook called", () => paths.length > 0, 30_000);
    assert.equal(paths[0], `/services/${PLANTED}`, "the decrypted URL was used");

    const api = (path: string) =>
      fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiToken}` } });
    const history = await until("the refusal recorded", async () => {
      const text = await (await api("/api/v1/notifications")).text();
      return text.includes("HTTP 404") ? text : undefined;
    });
    assert.ok(!history.includes(PLANTED), `no secret in the API: ${history}`);

    server.kill("SIGTERM");
    await server.status;
    server = null;
    const [stdout, stderr] = await output;
    for (const [name, text] of [["stdout", stdout], ["stderr", stderr]]) {
      assert.ok(!text.includes(PLANTED), `no secret in the collector's ${name}: ${text}`);
    }
    assert.ok(!(await Deno.readTextFile(config)).includes(PLANTED), "none in the config file");
  } finally {
    if (server !== null) {
      server.kill("SIGTERM");
      await server.status;
    }
    await hookServer.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

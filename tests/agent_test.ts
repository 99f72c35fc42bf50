/**
 * The daemon in-process: hot reload and the local API, with real scripts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Agent, startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";
import { fixtureScript, writeConfig } from "./_agent_process.ts";
import { alive, nextEvent, tempDir } from "./_helpers.ts";

async function withAgent(scripts: string, fn: (agent: Agent, configPath: string) => Promise<void>) {
  await using dir = await tempDir();
  const path = await writeConfig(dir.path, scripts);
  const agent = await startAgent({ config: await loadConfig(path) });
  try {
    await fn(agent, path);
  } finally {
    await agent.shutdown();
  }
}

/** A GET of /api/status with exactly this Host header (fetch would set its own). */
async function rawGet(port: number, host: string): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(
      `GET /api/status HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ),
  );
  return await new Response(conn.readable).text();
}

const pidOf = (agent: Agent, name: string) => agent.supervisor.get(name).status().pid;
const reloaded = (agent: Agent) =>
  nextEvent(agent.events, (e) => e.kind === "config" && /^reload/.test(e.reason ?? ""));

Deno.test("editing the config starts added, stops removed, restarts changed, keeps the rest", async () => {
  const base = fixtureScript("keep", "print_hang.ts", "1") +
    fixtureScript("change", "print_hang.ts", "1") + fixtureScript("remove", "print_hang.ts", "1");
  await withAgent(base, async (agent, path) => {
    const before = {
      keep: pidOf(agent, "keep"),
      change: pidOf(agent, "change"),
      remove: pidOf(agent, "remove"),
    };
    const done = reloaded(agent);
    await writeConfig(
      join(path, ".."),
      fixtureScript("keep", "print_hang.ts", "1") + fixtureScript("change", "print_hang.ts", "2") +
        fixtureScript("added", "print_hang.ts", "1"),
    );
    assert.equal((await done).reason, "reloaded: 1 added, 1 removed, 1 changed, 1 unchanged");
    assert.equal(pidOf(agent, "keep"), before.keep);
    assert.notEqual(pidOf(agent, "change"), before.change);
    assert.equal(await alive(before.change!), false);
    assert.equal(await alive(before.remove!), false);
    assert.ok(pidOf(agent, "added"));
    assert.deepEqual(agent.supervisor.status().map((s) => s.name), ["keep", "change", "added"]);
  });
});

Deno.test("a broken edit keeps the running config and reports the error with its line", async () => {
  await withAgent(fixtureScript("rates", "print_hang.ts", "1"), async (agent, path) => {
    const pid = pidOf(agent, "rates");
    const good = await Deno.readTextFile(path);
    let done = reloaded(agent);
    await Deno.writeTextFile(path, good.replace('stop_timeout = "2s"', 'stop_timeout = "soon"'));
    assert.match((await done).reason ?? "", /^reload failed/);
    const error = agent.info().configError;
    assert.ok(error);
    assert.deepEqual(error.issues.map((i) => [i.path, i.line]), [["defaults.stop_timeout", 8]]);
    assert.match(error.message, /scriptmon\.toml:8: defaults\.stop_timeout: expected a duration/);
    assert.equal(pidOf(agent, "rates"), pid);
    assert.equal(agent.supervisor.get("rates").state, "running");

    done = reloaded(agent);
    await Deno.writeTextFile(path, good);
    await done;
    assert.equal(agent.info().configError, null);
    assert.equal(pidOf(agent, "rates"), pid, "an unchanged script is not restarted");
  });
});

Deno.test("the local API serves status openly and control only with the secret", async () => {
  await withAgent(fixtureScript("rates", "print_hang.ts", "1"), async (agent, path) => {
    const base = `http://127.0.0.1:${agent.apiPort}`;
    const status = await (await fetch(`${base}/api/status`)).json();
    assert.equal(status.agent.site, "TEST1");
    assert.equal(status.scripts[0].name, "rates");
    assert.equal(status.scripts[0].state, "running");

    const anonymous = await fetch(`${base}/api/scripts/rates/restart`, { method: "POST" });
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 401);
    const secret = (await Deno.readTextFile(join(path, "..", "data", "control.secret"))).trim();
    const wrong = await fetch(`${base}/api/scripts/rates/restart`, {
      method: "POST",
      headers: { authorization: "Bearer not-the-secret" },
    });
    await wrong.body?.cancel();
    assert.equal(wrong.status, 401);
    assert.equal(pidOf(agent, "rates"), status.scripts[0].pid, "nothing was restarted");

    const auth = { authorization: `Bearer ${secret}` };
    const ok = await fetch(`${base}/api/scripts/rates/restart`, { method: "POST", headers: auth });
    assert.equal(ok.status, 200);
    assert.notEqual((await ok.json()).script.pid, status.scripts[0].pid);
    const missing = await fetch(`${base}/api/scripts/nope/stop`, { method: "POST", headers: auth });
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error, /No script named "nope"/);

    // A page on another site reaching the port through DNS rebinding sends its own Host.
    assert.match(await rawGet(agent.apiPort, "evil.example"), /^HTTP\/1\.1 421 /);
    assert.match(await rawGet(agent.apiPort, `127.0.0.1:${agent.apiPort}`), /^HTTP\/1\.1 200 /);

    // A page on another site in the workstation's browser may not ping, relay or control.
    const forgeries: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site" },
      { origin: "https://evil.example" },
    ];
    for (const headers of forgeries) {
      const forged = await fetch(`${base}/ping/rates/fail`, { method: "POST", headers });
      await forged.body?.cancel();
      assert.equal(forged.status, 403);
    }
    const own = await fetch(`${base}/?fragment=1`, {
      headers: { "sec-fetch-site": "same-origin" },
    });
    await own.body?.cancel();
    assert.equal(own.status, 200);
  });
});

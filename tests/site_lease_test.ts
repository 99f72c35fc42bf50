/**
 * Site leases end to end: a real collector on a loopback port and two
 * in-process agents of one site, each with the same `singleton = "site"`
 * script. Exactly one runs it; when the holder goes quiet (its network is
 * cut: no renewal, no release), it stops the script before its lease
 * expires and the other agent takes over, never both running at once.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { type Agent, startAgent } from "../agent/mod.ts";
import { parseConfig as parseAgentConfig } from "../agent/config/mod.ts";
import { createApp } from "../collector/mod.ts";
import { parseConfig as parseCollectorConfig } from "../collector/config/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { tempDir } from "./_helpers.ts";

const SCRIPT = "report";
const SAMPLE_MS = 100;

/** A fetch that can be cut (every request fails like a dead network) and records lease answers. */
class Network {
  cut = false;
  /** When the last lease request that got the lease was answered. */
  lastRenewalAt = 0;

  readonly fetch: typeof fetch = async (input, init) => {
    if (this.cut) throw new TypeError("fetch failed: network cut by the test");
    const res = await fetch(input, init);
    if (String(input).includes("/api/v1/leases/") && res.ok) {
      const answer = await res.clone().json();
      if (answer.held) this.lastRenewalAt = Date.now();
    }
    return res;
  };
}

function agentConfig(
  options: { dir: string; host: string; port: number; token: string },
) {
  const argv = [
    Deno.execPath(),
    "run",
    "--allow-all",
    resolve(import.meta.dirname!, "fixtures", "print_hang.ts"),
    "1",
  ];
  const text = [
    "[agent]",
    'site = "BFI4"',
    `host = "${options.host}"`,
    `data_dir = ${JSON.stringify(options.dir)}`,
    "api_port = 0",
    `[scripts.${SCRIPT}]`,
    `command = ${JSON.stringify(argv)}`,
    'singleton = "site"',
    'stop_timeout = "2s"',
    "[collector]",
    `url = "http://127.0.0.1:${options.port}/"`,
    `token = "${options.token}"`,
    'heartbeat_interval = "1s"',
    'lease_ttl = "2s"',
    "",
  ].join("\n");
  return parseAgentConfig(text, { path: join(options.dir, "scriptmon.toml"), vars: {} });
}

const running = (agent: Agent) => {
  const state = agent.supervisor.statusOf(SCRIPT).state;
  return state === "running" || state === "starting";
};

/** Samples both agents every 100 ms until `done` (at most `timeoutMs`), never both running. */
async function sampleUntil(
  agents: Agent[],
  what: string,
  done: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = agents.map((a) => a.supervisor.statusOf(SCRIPT).state);
    assert.ok(agents.filter(running).length <= 1, `both agents run ${SCRIPT}: ${states}`);
    if (done()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (states ${states})`);
    }
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
  }
}

Deno.test("a site singleton runs on exactly one agent and fails over when the holder goes quiet", async () => {
  await using dir = await tempDir();
  const kv = await Deno.openKv(join(dir.path, "collector.kv"));
  const store = new Store(kv);
  const app = createApp({
    store,
    config: parseCollectorConfig("", { path: join(dir.path, "collector.toml"), vars: {} }),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const agents: Agent[] = [];
  const networks = new Map<Agent, Network>();
  try {
    for (const host of ["ws-01", "ws-07"]) {
      const { token } = await store.createToken({
        kind: "agent",
        name: `bfi4-${host}`,
        site: "BFI4",
        now: Date.now(),
      });
      const network = new Network();
      const agentDir = join(dir.path, host);
      await Deno.mkdir(agentDir);
      const agent = await startAgent({
        config: agentConfig({ dir: agentDir, host, port: server.addr.port, token }),
        watch: false,
        fetch: network.fetch,
      });
      agents.push(agent);
      networks.set(agent, network);
    }

    // Exactly one runs it; the other waits and says for whom.
    await sampleUntil(agents, "one agent running the script", () => agents.some(running), 20_000);
    const sampleEnd = Date.now() + 3000;
    await sampleUntil(agents, "3 s of sampling", () => Date.now() >= sampleEnd, 5000);
    const holder = agents.find(running)!;
    const other = agents.find((a) => a !== holder)!;
    assert.ok(running(holder));
    const waiting = other.supervisor.statusOf(SCRIPT);
    assert.equal(waiting.state, "stopped");
    assert.match(
      waiting.reason ?? "",
      new RegExp(
        `^waiting for the site lease \\(held by BFI4/${holder.info().host} until \\d{4}-.*Z\\)$`,
      ),
    );

    // The holder goes quiet: no renewal, no release.
    const reasons: string[] = [];
    const unsubscribe = holder.events.subscribe((e) => {
      if (e.kind === "state" && e.script === SCRIPT && e.state === "stopped") {
        reasons.push(e.reason ?? "");
      }
    });
    const network = networks.get(holder)!;
    network.cut = true;
    const lastRenewalAt = network.lastRenewalAt;
    await sampleUntil(agents, "the other agent taking over", () => running(other), 30_000);
    const tookOverAfterMs = Date.now() - lastRenewalAt;
    assert.ok(tookOverAfterMs < 30_000, `took over ${tookOverAfterMs} ms after the last renewal`);
    unsubscribe();
    assert.equal(holder.supervisor.statusOf(SCRIPT).state, "stopped");
    assert.equal(reasons.length, 1, JSON.stringify(reasons));
    assert.match(reasons[0], /^the site lease expired unrenewed \(.*network cut by the test\)$/);
    assert.match(
      holder.supervisor.statusOf(SCRIPT).reason ?? "",
      /^waiting for the site lease \(no answer from the collector: .*network cut/,
    );
    const endSampling = Date.now() + 1000;
    await sampleUntil(agents, "1 s more of sampling", () => Date.now() >= endSampling, 3000);
    assert.ok(running(other));
  } finally {
    for (const agent of agents) await agent.killNow();
    await server.shutdown();
    kv.close();
  }
});

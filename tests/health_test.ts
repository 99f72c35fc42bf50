/**
 * Health checks end to end: a real agent, real scripts, real probe servers,
 * the local API as a person or a monitoring system uses it.
 */
import { promtoolCheck } from "./_promtool.ts";
import assert from "node:assert/strict";
import { type Agent, type Clock, startAgent, systemClock } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";
import type { AgentEvent } from "../agent/supervise/mod.ts";
import { fixtureScript, writeConfig } from "./_agent_process.ts";
import { nextEvent, tempDir, until } from "./_helpers.ts";

async function withAgent(
  scripts: string,
  fn: (agent: Agent, base: string) => Promise<void>,
  options: { agentKeys?: string; clock?: Clock } = {},
) {
  await using dir = await tempDir();
  const path = await writeConfig(dir.path, scripts, options.agentKeys ?? "");
  const agent = await startAgent({
    config: await loadConfig(path),
    watch: false,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  try {
    await fn(agent, `http://127.0.0.1:${agent.apiPort}`);
  } finally {
    await agent.shutdown();
  }
}

const checkEvent = (script: string, check: string, status: string) => (e: AgentEvent) =>
  e.kind === "check" && e.script === script && e.check === check && e.status === status;

/**
 * A local HTTP server answering `/` with `status` and `body` after `delayMs`; `status` may be
 * changed while it runs, and `hits` records when each request came (performance.now()).
 */
function probeServer(status: number, body: string, delayMs = 0) {
  const abort = new AbortController();
  const hits: number[] = [];
  const state = { status };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: abort.signal,
    onListen() {},
  }, async () => {
    hits.push(performance.now());
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return new Response(body, { status: state.status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    hits,
    set status(value: number) {
      state.status = value;
    },
    async [Symbol.asyncDispose]() {
      abort.abort();
      await server.finished;
    },
  };
}

Deno.test("a script that stops pinging turns unhealthy, and its pings are on record", async () => {
  const script = fixtureScript("token", "pinger.ts", "3", "50") +
    `heartbeat_timeout = "400ms"\ngrace = "100ms"\n`;
  await withAgent(script, async (agent) => {
    const ok = nextEvent(agent.events, checkEvent("token", "heartbeat", "ok"));
    const failing = nextEvent(agent.events, checkEvent("token", "heartbeat", "failing"));
    await ok;
    const event = await failing;
    assert.match(event.reason!, /^no ping for 5\d\dms \(timeout 400ms \+ grace 100ms\)$/);
    assert.equal(event.alert, true);
    const status = agent.supervisor.statusOf("token");
    assert.equal(status.health, "unhealthy");
    assert.equal(status.heartbeat?.pings, 3);
    assert.equal(status.heartbeat?.lastMessage, "ping 3");
    assert.equal(status.state, "running", "alert only: not restarted");
  });
});

Deno.test("touching the heartbeat file counts as a ping", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/token.heartbeat`;
  await Deno.writeTextFile(file, "");
  const script = fixtureScript("token", "print_hang.ts", "1") +
    `heartbeat_timeout = "300ms"\nheartbeat_file = "${file}"\n`;
  await withAgent(script, async (agent) => {
    let failed = false;
    const off = agent.events.subscribe((e) => {
      if (checkEvent("token", "heartbeat", "failing")(e)) failed = true;
    });
    // Touch it every 100 ms for a second: three times the timeout, never late.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = new Date();
      await Deno.utime(file, now, now);
    }
    assert.equal(failed, false);
    assert.equal(agent.supervisor.statusOf("token").health, "healthy");
    off();
    const failing = await nextEvent(agent.events, checkEvent("token", "heartbeat", "failing"));
    assert.match(failing.reason!, /^no ping for 3\d\dms/);
  });
});

Deno.test("a touch of the heartbeat file shows in status at once, long before the deadline", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/rates.heartbeat`;
  const script = fixtureScript("rates", "print_hang.ts", "1") +
    `heartbeat_timeout = "10m"\nheartbeat_file = "${file}"\n`;
  await withAgent(script, async (agent) => {
    const heartbeat = () =>
      agent.supervisor.statusOf("rates").checks.find((c) => c.name === "heartbeat")!;
    await until("the script running", () => agent.supervisor.statusOf("rates").pid !== null);
    assert.equal(heartbeat().reason, "waiting for the first ping of this run");
    await Deno.writeTextFile(file, "");
    const ok = await until("the touch seen", () => {
      const check = heartbeat();
      return check.status === "ok" ? check : undefined;
    }, 5_000);
    assert.match(ok.reason, /^last ping \d+ms ago$/);
    assert.notEqual(agent.supervisor.statusOf("rates").heartbeat?.lastPingAt, null);
  });
});

Deno.test("a silent script is taken as hung and restarted when its action says so", async () => {
  const script = fixtureScript("quiet", "print_hang.ts", "1") +
    `silence_timeout = "300ms"\nsilence_action = ["alert", "restart"]\n`;
  await withAgent(script, async (agent) => {
    const first = agent.supervisor.statusOf("quiet").pid;
    const hung = await nextEvent(agent.events, checkEvent("quiet", "silence", "failing"));
    assert.match(hung.reason!, /^no output for 3\d\dms \(silence_timeout 300ms\)$/);
    const restart = await nextEvent(agent.events, (e) => e.restarted === true);
    assert.equal(restart.check, "silence");
    await nextEvent(
      agent.events,
      (e) => e.kind === "state" && e.script === "quiet" && e.state === "running",
    );
    assert.notEqual(agent.supervisor.statusOf("quiet").pid, first);
    assert.ok(agent.supervisor.statusOf("quiet").restarts >= 1, "counted as a restart");
  });
});

Deno.test("probes: healthy passes, a 500 fails after `failures` tries, a slow one times out", async () => {
  await using healthy = probeServer(200, "all ok");
  await using broken = probeServer(500, "oops");
  await using slow = probeServer(200, "late", 1500);
  const probe = (name: string, url: string) =>
    `[[scripts.web.probes]]\nname = "${name}"\nkind = "http"\nurl = "${url}"\nbody = "ok"\n` +
    `interval = "400ms"\ntimeout = "300ms"\nfailures = 2\n`;
  const script = fixtureScript("web", "print_hang.ts", "1") + probe("good", healthy.url) +
    probe("bad", broken.url) + probe("slow", slow.url);
  await withAgent(script, async (agent) => {
    const good = nextEvent(agent.events, checkEvent("web", "probe:good", "ok"));
    const bad = nextEvent(agent.events, checkEvent("web", "probe:bad", "failing"));
    const late = nextEvent(agent.events, checkEvent("web", "probe:slow", "failing"));
    await good;
    assert.equal((await bad).reason, "HTTP 500 (expected 200)");
    assert.match((await late).reason!, /timed out after 300ms/);
    const checks = agent.supervisor.statusOf("web").checks;
    assert.ok(checks.find((c) => c.name === "probe:bad")!.consecutiveFailures >= 2);
    assert.equal(agent.supervisor.statusOf("web").health, "unhealthy");
  });
});

Deno.test("the probes of scripts started together are spread over their interval's second half", async () => {
  await using server = probeServer(200, "ok");
  const names = Array.from({ length: 12 }, (_, i) => `web${i}`);
  const scripts = names.map((name) =>
    fixtureScript(name, "print_hang.ts", "1") +
    `[[scripts.${name}.probes]]\nkind = "http"\nurl = "${server.url}"\ninterval = "1.2s"\ntimeout = "500ms"\n`
  ).join("");
  // The waits the agent asks its clock for: a first probe's is half, five eighths, three
  // quarters or seven eighths of the 1.2 s interval. Read from the clock, not from when the
  // probes came, so that a busy machine stalling every timer at once cannot merge them.
  const points = new Set([600, 750, 900, 1050]);
  const firstWaits: number[] = [];
  const clock: Clock = {
    now: () => systemClock.now(),
    sleep(ms, signal) {
      if (points.has(ms)) firstWaits.push(ms);
      return systemClock.sleep(ms, signal);
    },
  };
  const started = performance.now();
  await withAgent(scripts, async () => {
    await until("each script's first probe", () => server.hits.length >= names.length);
  }, { clock });
  assert.equal(firstWaits.length, names.length, `first waits: ${firstWaits.join(", ")}`);
  // Not all at one point: 12 first waits fall on one of the 4 once in 4 million.
  assert.ok(new Set(firstWaits).size > 1, `first waits: ${firstWaits.join(", ")}`);
  const first = server.hits.slice(0, names.length).map((at) => at - started);
  assert.ok(Math.min(...first) >= 600, `a first probe came ${Math.round(Math.min(...first))}ms in`);
});

Deno.test("a probe checks more often until a failure is confirmed, and stretches while it passes", async () => {
  await using server = probeServer(200, "ok");
  const script = fixtureScript("web", "print_hang.ts", "1") +
    `[[scripts.web.probes]]\nname = "api"\nkind = "http"\nurl = "${server.url}"\n` +
    `interval = "1s"\nmin_interval = "100ms"\nmax_interval = "2s"\ntimeout = "500ms"\nfailures = 2\n`;
  const probe = (agent: Agent) =>
    agent.supervisor.statusOf("web").checks.find((c) => c.name === "probe:api")!;
  await withAgent(script, async (agent) => {
    // Passes follow passes: the wait doubles from the interval to max_interval.
    await until("the probe to stretch to max_interval", () => probe(agent).intervalMs === 2000);
    server.status = 500;
    const failing = nextEvent(agent.events, checkEvent("web", "probe:api", "failing"));
    const firstBad = server.hits.length;
    await failing;
    const [first, second] = server.hits.slice(firstBad);
    assert.ok(
      second - first < 1000,
      `the failure was confirmed after ${Math.round(second - first)}ms, sooner than the interval`,
    );
    assert.equal(probe(agent).intervalMs, 1000, "a confirmed failure is checked at the interval");
    server.status = 200;
    await nextEvent(agent.events, checkEvent("web", "probe:api", "ok"));
    assert.equal(probe(agent).intervalMs, 100, "a recovery is confirmed at min_interval");
  });
});

Deno.test("a script that grows past memory_restart is restarted by the memory limit", async () => {
  const script = fixtureScript("fluidload", "memory_hog.ts", "300") +
    `[scripts.fluidload.limits]\nmemory_warn = "150MB"\nmemory_restart = "250MB"\nsamples = 2\n`;
  await withAgent(script, async (agent) => {
    const first = agent.supervisor.statusOf("fluidload").pid;
    const restart = await nextEvent(
      agent.events,
      (e) => e.script === "fluidload" && e.restarted === true,
      60_000,
    );
    assert.equal(restart.check, "memory");
    assert.match(restart.reason!, /^restarting: memory .* over the restart limit 250 MB/);
    await nextEvent(
      agent.events,
      (e) => e.kind === "state" && e.script === "fluidload" && e.state === "running",
    );
    const status = agent.supervisor.statusOf("fluidload");
    assert.notEqual(status.pid, first);
    // A restart by a limit is a restart: counted, and it feeds the crash-loop detector.
    assert.equal(status.restarts, 1);
    assert.equal(status.lastExit?.signal, "SIGTERM");
  }, { agentKeys: `sample_interval = "250ms"` });
});

Deno.test("the local API: pings, readyz, metrics that promtool accepts, and the status page", async () => {
  const script = fixtureScript("rates", "print_hang.ts", "2") + `heartbeat_timeout = "1m"\n` +
    fixtureScript("other", "print_hang.ts", "1");
  await withAgent(script, async (agent, base) => {
    const unknown = await fetch(`${base}/ping/nope`);
    assert.equal(unknown.status, 404);
    assert.deepEqual((await unknown.json()).scripts, ["rates", "other"]);

    const big = "x".repeat(50_000);
    const pinged = await fetch(`${base}/ping/rates`, { method: "POST", body: big });
    assert.equal(await pinged.text(), "OK");
    const heartbeat = agent.supervisor.statusOf("rates").heartbeat!;
    assert.equal(heartbeat.lastMessage?.length, 10_000, "cut at the documented limit");
    await (await fetch(`${base}/ping/rates/start`)).body?.cancel();
    assert.ok(agent.supervisor.statusOf("rates").heartbeat?.lastStartAt);

    const ready = await fetch(`${base}/readyz`);
    assert.deepEqual(await ready.json(), { ready: true, config: true, kv: true, lock: true });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^scriptmon_script_up\{script="rates"\} 1$/m);
    assert.match(metrics, /^scriptmon_script_last_heartbeat_age_seconds\{script="rates"\} \d/m);
    const checked = await promtoolCheck(metrics);
    assert.equal(checked.code, 0, checked.complaints);
    assert.equal(checked.complaints, "");

    await until(
      "the script's two lines",
      () => agent.supervisor.get("rates").recentLines.length >= 2,
    );
    const page = await fetch(`${base}/`);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'; script-src 'nonce-[0-9a-f]+'/);
    const html = await page.text();
    assert.match(html, /rates/);
    assert.match(html, /line 2/, "the last lines of the log are shown");
  });
});

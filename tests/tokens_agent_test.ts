/**
 * Tokens in a real (in-process) agent: warnings through the outbox once per
 * lead time and token lifetime, scripts that wait for a token and resume,
 * and a failing refresh that backs off and alerts. A fake clock moves the
 * token's lifetime along; files, the webhook receiver and the scripts are real.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Agent, startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";
import { FakeClock, refreshCommand, signJwt } from "../agent/tokens/_testing.ts";
import { fixtureScript, writeConfig } from "./_agent_process.ts";
import { nextEvent, tempDir, until } from "./_helpers.ts";
import { Recorder } from "./_recorder.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

async function writeJwt(file: string, expMs: number): Promise<void> {
  const jwt = await signJwt({ sub: "picker", exp: Math.floor(expMs / 1000) });
  await Deno.writeTextFile(`${file}.tmp`, jwt);
  await Deno.rename(`${file}.tmp`, file);
}

/** A json webhook to `url` that gets every alert at once (no grouping wait). */
function alertsTo(url: string): string {
  return `[webhooks.ops]\nkind = "json"\nurl = "${url}"\nsecret = "0123456789abcdef0123"\n\n` +
    `[notify]\ngroup_wait = "0s"\n[[notify.routes]]\nwebhooks = ["ops"]\n\n`;
}

/**
 * Awaits `promise` while the fake clock runs at five times real speed: the
 * notifier lets a burst of changes settle for 20 ms of clock time before it looks.
 */
async function ticking<T>(clock: FakeClock, promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => clock.advance(50), 10);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

/** The alerts the receiver got, in order. */
function alerts(recorder: Recorder): { rule: string; title: string; text: string }[] {
  return recorder.requests.map((r) => JSON.parse(r.body).alert);
}

Deno.test("token warnings go out once per lead time per lifetime, also across an agent restart", async () => {
  await using dir = await tempDir();
  await using hook = new Recorder();
  const clock = new FakeClock();
  const file = join(dir.path, "sso.jwt");
  const exp = clock.now() + 5 * HOUR;
  await writeJwt(file, exp);
  const path = await writeConfig(
    dir.path,
    alertsTo(hook.url()),
    `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\nwarn_before = ["4h", "1h", "15m"]\n`,
  );
  const start = async () => startAgent({ config: await loadConfig(path), clock, watch: false });
  let agent: Agent = await start();
  try {
    assert.equal(agent.tokens.status()[0].state, "valid");
    clock.set(exp - 4 * HOUR + 1000);
    await ticking(clock, hook.received(1));
    clock.set(exp - 2 * HOUR); // still inside the 4h lead: nothing new
    clock.set(exp - HOUR + 1000);
    await ticking(clock, hook.received(2));
    await agent.shutdown();
    agent = await start(); // sees the same token inside its 1h lead: already sent
    clock.set(exp - 15 * MIN + 1000);
    await ticking(clock, hook.received(3));
    // Renewed by hand for 3 more hours: a new lifetime warns again at its own 4h lead.
    const exp2 = clock.now() + 3 * HOUR;
    await writeJwt(file, exp2);
    agent.tokens.pokeAll();
    await ticking(clock, hook.received(4));
    clock.set(exp2 + 1000);
    await ticking(clock, hook.received(5));
    await agent.notifier.outbox.idle();
    assert.deepEqual(alerts(hook).map((a) => [a.rule, a.title]), [
      ["token-expiring", "token sso expires within 4h on " + agent.info().host + " (TEST1)"],
      ["token-expiring", "token sso expires within 1h on " + agent.info().host + " (TEST1)"],
      ["token-expiring", "token sso expires within 15m on " + agent.info().host + " (TEST1)"],
      ["token-expiring", "token sso expires within 4h on " + agent.info().host + " (TEST1)"],
      ["token-invalid", "token sso is expired on " + agent.info().host + " (TEST1)"],
    ]);
  } finally {
    await agent.shutdown();
  }
});

Deno.test("a script waits for its expired token, without restarts, and resumes when the file is renewed", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "sso.jwt");
  await writeJwt(file, Date.now() - MIN);
  const path = await writeConfig(
    dir.path,
    fixtureScript("picker", "print_hang.ts", "1"),
    `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\nused_by = ["picker"]\n`,
  );
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  try {
    const waiting = agent.supervisor.statusOf("picker");
    assert.equal(waiting.state, "waiting-for-token");
    assert.equal(waiting.pid, null);
    assert.match(waiting.reason ?? "", /^token "sso" is expired \(expired 1m( 1s)? ago\)$/);

    // A person logs in again: the watched file changes, the script starts.
    const started = nextEvent(agent.events, (e) => e.script === "picker" && e.state === "running");
    await writeJwt(file, Date.now() + HOUR);
    await started;

    // The token expires while it runs, and then the script dies: it waits instead of crash-looping.
    await writeJwt(file, Date.now() - 1000);
    await until("the token expired", () => agent.tokens.status()[0].state === "expired");
    const paused = nextEvent(
      agent.events,
      (e) => e.script === "picker" && e.state === "waiting-for-token",
    );
    Deno.kill(agent.supervisor.statusOf("picker").pid!, "SIGKILL");
    await paused;
    const resumed = nextEvent(agent.events, (e) => e.script === "picker" && e.state === "running");
    await writeJwt(file, Date.now() + HOUR);
    await resumed;
    const history = await agent.events.list({ script: "picker" });
    assert.equal(history.filter((e) => e.state === "starting").length, 2);
    assert.equal(history.filter((e) => e.kind === "exit").length, 1);
  } finally {
    await agent.shutdown();
  }
});

Deno.test("a failing refresh backs off and alerts, once per condition", async () => {
  await using dir = await tempDir();
  await using hook = new Recorder();
  const clock = new FakeClock();
  const file = join(dir.path, "sso.jwt");
  await writeJwt(file, clock.now() - MIN);
  const refresh = refreshCommand(join(dir.path, "unreachable"), file);
  const path = await writeConfig(
    dir.path,
    alertsTo(hook.url()),
    `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\n[tokens.sso.refresh]\n` +
      `command = ${JSON.stringify(refresh)}\nmin_delay = "1m"\nmax_delay = "10m"\n`,
  );
  const agent = await startAgent({ config: await loadConfig(path), clock, watch: false });
  try {
    const first = await until("the first refresh", () => {
      const r = agent.tokens.status()[0].refresh!;
      return r.failures === 1 && !r.running && r;
    });
    assert.equal(Date.parse(first.nextTryAt!) - clock.now(), MIN);
    await ticking(clock, hook.received(2));
    clock.set(Date.parse(first.nextTryAt!));
    const second = await until("a second refresh", () => {
      const r = agent.tokens.status()[0].refresh!;
      return r.failures === 2 && !r.running && r;
    });
    // The wait doubled (measured from the try, as the clock moved on meanwhile).
    const waited = Date.parse(second.nextTryAt!) - Date.parse(second.lastRunAt!);
    assert.ok(waited >= 2 * MIN && waited < 2 * MIN + 10_000, `waited ${waited} ms`);
    await agent.notifier.outbox.idle();
    const sent = alerts(hook);
    assert.deepEqual(sent.map((a) => a.rule).sort(), ["token-invalid", "token-refresh-failed"]);
    assert.match(
      sent.find((a) => a.rule === "token-refresh-failed")!.text,
      /^1 failed refresh\(es\) in a row: refresh command exit code 1\. Next try at /,
    );
  } finally {
    await agent.shutdown();
  }
});

Deno.test("every heartbeat to the collector carries the tokens' state and time left, not their value", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "sso.jwt");
  const expiresAt = Date.now() + 6 * HOUR;
  await writeJwt(file, expiresAt);
  const jwt = await Deno.readTextFile(file);
  const ingests: Record<string, unknown>[] = [];
  const got = Promise.withResolvers<void>();
  const fakeCollector: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith("/api/v1/ingest")) {
      ingests.push(JSON.parse(String(init?.body)));
      got.resolve();
      return Response.json({ ackedSeq: 0, commands: [], now: new Date().toISOString() });
    }
    // The commands long-poll: nothing to do; answer when asked to stop.
    await new Promise<void>((resolve) => init?.signal?.addEventListener("abort", () => resolve()));
    throw new DOMException("aborted", "AbortError");
  };
  const path = await writeConfig(
    dir.path,
    "",
    `[collector]\nurl = "http://127.0.0.1:9/"\ntoken = "agent-token-of-this-workstation"\n` +
      `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\n`,
  );
  const agent = await startAgent({
    config: await loadConfig(path),
    watch: false,
    fetch: fakeCollector,
  });
  try {
    await got.promise;
    const [tokens] = ingests.map((body) => body.tokens as Record<string, unknown>[]);
    assert.equal(tokens.length, 1);
    const { secondsLeft, ...rest } = tokens[0];
    assert.deepEqual(rest, {
      name: "sso",
      state: "valid",
      // The JWT's exp, in whole seconds (not now + 6 h again: a second may have passed).
      expiresAt: new Date(Math.floor(expiresAt / 1000) * 1000).toISOString(),
      predicted: false,
      confidence: 1,
      usedBy: [],
    });
    assert.ok(Math.abs(Number(secondsLeft) - 6 * 3600) <= 5, `secondsLeft ${secondsLeft}`);
    assert.ok(!JSON.stringify(ingests).includes(jwt));
  } finally {
    await agent.shutdown();
  }
});

Deno.test("a script waits while its expired token is refreshed, then starts", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "sso.jwt");
  const next = join(dir.path, "next.jwt");
  await writeJwt(file, Date.now() - MIN);
  await writeJwt(next, Date.now() + 8 * HOUR);
  // A refresh that takes a moment, as a real SSO round trip does.
  const refresh = [
    "sh",
    "-c",
    `sleep 0.3 && cp "${next}" "${file}.tmp" && mv "${file}.tmp" "${file}"`,
  ];
  const path = await writeConfig(
    dir.path,
    fixtureScript("picker", "print_hang.ts", "1"),
    `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\nused_by = ["picker"]\n` +
      `[tokens.sso.refresh]\ncommand = ${JSON.stringify(refresh)}\n`,
  );
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  try {
    assert.equal(agent.supervisor.statusOf("picker").state, "waiting-for-token");
    await nextEvent(agent.events, (e) => e.script === "picker" && e.state === "running");
    const token = agent.tokens.status()[0];
    assert.deepEqual([token.state, token.refresh?.lastOk], ["valid", true]);
    const history = await agent.events.list({ script: "picker" });
    // Newest first.
    assert.deepEqual(history.filter((e) => e.kind === "state").map((e) => e.state).reverse(), [
      "waiting-for-token",
      "starting",
      "running",
    ]);
  } finally {
    await agent.shutdown();
  }
});

Deno.test("a token added by a config reload gates the script's next start, not its current run", async () => {
  await using dir = await tempDir();
  await writeJwt(join(dir.path, "sso.jwt"), Date.now() - MIN);
  const script = fixtureScript("picker", "print_hang.ts", "1");
  const path = await writeConfig(dir.path, script);
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  try {
    assert.equal(agent.supervisor.statusOf("picker").state, "running");
    await writeConfig(
      dir.path,
      script,
      `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\nused_by = ["picker"]\n`,
    );
    await agent.reload();
    assert.deepEqual(agent.tokens.status().map((t) => [t.name, t.state]), [["sso", "expired"]]);
    assert.equal(agent.supervisor.statusOf("picker").state, "running");
    await agent.supervisor.get("picker").restart();
    assert.equal(agent.supervisor.statusOf("picker").state, "waiting-for-token");
  } finally {
    await agent.shutdown();
  }
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { formatDuration } from "../../shared/config/units.ts";
import type {
  ResolvedExecProbe,
  ResolvedHttpProbe,
  ResolvedProbe,
  ResolvedTcpProbe,
} from "../../shared/agent_config/types.ts";
import { platform } from "../platform/mod.ts";
import { type ProbeResult, ProbeTracker, runProbe } from "./probes.ts";

const TIMEOUT_MS = 300;
const common = {
  intervalMs: 10_000,
  minIntervalMs: 2_000,
  maxIntervalMs: 40_000,
  timeoutMs: TIMEOUT_MS,
  failures: 3,
  action: { alert: true, restart: false },
};

function httpProbe(url: string, extra: Partial<ResolvedHttpProbe> = {}): ResolvedHttpProbe {
  return { ...common, name: "http-1", kind: "http", url, method: "GET", status: 200, ...extra };
}

function tcpProbe(port: number): ResolvedTcpProbe {
  return { ...common, name: "tcp-1", kind: "tcp", host: "127.0.0.1", port };
}

function execProbe(code: string, extra: Partial<ResolvedExecProbe> = {}): ResolvedExecProbe {
  return {
    ...common,
    name: "exec-1",
    kind: "exec",
    command: [Deno.execPath(), "eval", code],
    cwd: Deno.cwd(),
    ...extra,
  };
}

/** A real server on 127.0.0.1 for the length of `fn`; shut down and awaited afterwards. */
async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/health`);
  } finally {
    await server.shutdown();
  }
}

/** A port nothing listens on: bound, noted, closed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("an HTTP probe passes on the expected status and body", async () => {
  await withServer(() => new Response("all ok"), async (url) => {
    const result = await runProbe(httpProbe(url, { body: "ok" }));
    assert.equal(result.ok, true);
    assert.equal(result.reason, "HTTP 200");
    assert.ok(result.durationMs >= 0 && result.durationMs < TIMEOUT_MS);
  });
});

Deno.test("an HTTP probe fails on another status, naming both", async () => {
  await withServer(() => new Response("boom", { status: 500 }), async (url) => {
    assert.deepEqual(
      { ...(await runProbe(httpProbe(url))), durationMs: 0 },
      { ok: false, reason: "HTTP 500 (expected 200)", durationMs: 0 },
    );
  });
});

Deno.test("an HTTP probe fails when the body lacks the expected text", async () => {
  await withServer(() => new Response("starting"), async (url) => {
    const result = await runProbe(httpProbe(url, { body: "ok" }));
    assert.equal(result.ok, false);
    assert.equal(result.reason, 'body does not contain "ok"');
  });
});

Deno.test("an HTTP probe times out on a server that answers after 3× the timeout", async () => {
  let answered = 0;
  const { promise: probeDone, resolve: finishProbe } = Promise.withResolvers<void>();
  await withServer(async () => {
    // Answer after 3× the timeout, or once the probe gave up, so shutdown() need not wait.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      probeDone,
      new Promise<void>((resolve) => timer = setTimeout(resolve, 3 * TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
    answered++;
    return new Response("ok");
  }, async (url) => {
    const result = await runProbe(httpProbe(url));
    finishProbe();
    assert.equal(result.ok, false);
    assert.equal(result.reason, `timed out after ${formatDuration(TIMEOUT_MS)}`);
    assert.ok(
      result.durationMs >= TIMEOUT_MS - 5 && result.durationMs < 2 * TIMEOUT_MS,
      `took ${result.durationMs} ms`,
    );
  });
  assert.equal(answered, 1);
});

Deno.test("an HTTP probe follows redirects as fetch does, a 303 turning a POST into a GET", async () => {
  const seen: string[] = [];
  await withServer((request) => {
    const path = new URL(request.url).pathname;
    seen.push(`${request.method} ${path}`);
    if (path === "/health") return Response.redirect(new URL("/moved", request.url), 303);
    if (path === "/moved") return new Response(null, { status: 307, headers: { location: "/ok" } });
    return new Response("all ok");
  }, async (url) => {
    const result = await runProbe(httpProbe(url, { method: "POST", body: "ok" }));
    assert.equal(result.reason, "HTTP 200");
    assert.equal(result.ok, true);
  });
  assert.deepEqual(seen, ["POST /health", "GET /moved", "GET /ok"]);
});

Deno.test("an HTTP probe gives up after 20 redirects", async () => {
  let requests = 0;
  await withServer((request) => {
    requests++;
    return Response.redirect(request.url, 302);
  }, async (url) => {
    const result = await runProbe(httpProbe(url));
    assert.deepEqual({ ok: result.ok, reason: result.reason }, {
      ok: false,
      reason: "more than 20 redirects",
    });
  });
  assert.equal(requests, 21);
});

Deno.test("an HTTP probe of something that is not an HTTP server says what it answered", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.2\r\n"));
    conn.close();
  })();
  try {
    const result = await runProbe(httpProbe(`http://127.0.0.1:${listener.addr.port}/`));
    assert.equal(result.ok, false);
    assert.equal(
      result.reason,
      'bad HTTP response: not an HTTP/1.x status line: "SSH-2.0-OpenSSH_9.2"',
    );
  } finally {
    await served;
    listener.close();
  }
});

Deno.test("an HTTP probe to a closed port is connection refused", async () => {
  const result = await runProbe(httpProbe(`http://127.0.0.1:${closedPort()}/`));
  assert.equal(result.ok, false);
  assert.equal(result.reason, "connection refused");
});

Deno.test("a probe whose caller aborts stops with reason aborted", async () => {
  const ctl = new AbortController();
  ctl.abort();
  const result = await runProbe(httpProbe("http://127.0.0.1:1/"), { signal: ctl.signal });
  assert.deepEqual({ ...result, durationMs: 0 }, { ok: false, reason: "aborted", durationMs: 0 });
});

Deno.test("a caller's abort stops a probe mid-run, and runs leave no listener on its signal", async () => {
  const ctl = new AbortController();
  let listening = 0;
  const add = ctl.signal.addEventListener.bind(ctl.signal);
  const remove = ctl.signal.removeEventListener.bind(ctl.signal);
  ctl.signal.addEventListener = (...args: Parameters<typeof add>) => (listening++, add(...args));
  ctl.signal.removeEventListener = (
    ...args: Parameters<typeof remove>
  ) => (listening--, remove(...args));
  const { promise: asked, resolve: ask } = Promise.withResolvers<void>();
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  let hang = false;
  await withServer(async () => {
    if (hang) {
      ask();
      await released;
    }
    return new Response("ok");
  }, async (url) => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await runProbe(httpProbe(url), { signal: ctl.signal })).ok, true);
    }
    assert.equal(listening, 0);
    hang = true;
    const running = runProbe(httpProbe(url), { signal: ctl.signal });
    await asked;
    ctl.abort();
    const result = await running;
    release();
    assert.deepEqual([result.ok, result.reason], [false, "aborted"]);
    assert.equal(listening, 0);
  });
});

Deno.test("a TCP probe passes on an open port and fails on a closed one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepted = listener.accept().then((conn) => conn.close());
    const open = await runProbe(tcpProbe(listener.addr.port));
    await accepted;
    assert.equal(open.ok, true);
    assert.equal(open.reason, `connected to 127.0.0.1:${listener.addr.port}`);
  } finally {
    listener.close();
  }
  const closed = await runProbe(tcpProbe(closedPort()));
  assert.equal(closed.ok, false);
  assert.equal(closed.reason, "connection refused");
});

Deno.test("an exec probe passes on exit 0", async () => {
  const result = await runProbe(execProbe("Deno.exit(0)", { timeoutMs: 10_000 }));
  assert.equal(result.ok, true);
  assert.equal(result.reason, "exit code 0");
});

Deno.test("an exec probe's failure names the exit code and the last stderr line", async () => {
  const code = "console.log('out'); console.error('first'); console.error('queue stuck'); " +
    "Deno.exit(3)";
  const result = await runProbe(execProbe(code, { timeoutMs: 10_000 }));
  assert.equal(result.ok, false);
  assert.equal(result.reason, "exit code 3: queue stuck");
});

Deno.test("an exec probe of a missing program says so", async () => {
  const result = await runProbe(execProbe("", { command: ["no-such-probe-program"] }));
  assert.equal(result.ok, false);
  assert.equal(
    result.reason,
    `command "no-such-probe-program" not found (cwd "${Deno.cwd()}")`,
  );
});

Deno.test({
  name: "an exec probe past its timeout is killed with the child it started",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir();
    const pidFile = join(dir, "pids");
    // The probe starts a grandchild, records both pids, then sleeps past the timeout.
    const code = `
      const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
      await Deno.writeTextFile(${JSON.stringify(pidFile)}, Deno.pid + " " + child.pid);
      await child.status;`;
    try {
      const result = await runProbe(execProbe(code, { timeoutMs: 2_000 }));
      assert.equal(result.ok, false);
      assert.equal(result.reason, "timed out after 2s");
      const pids = (await Deno.readTextFile(pidFile)).split(" ").map(Number);
      assert.equal(pids.length, 2);
      for (const pid of pids) {
        let info = await platform.inspect(pid);
        for (let i = 0; i < 100 && info !== null; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          info = await platform.inspect(pid);
        }
        assert.equal(info, null, `process ${pid} still alive`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const T0 = Date.parse("2026-12-01T08:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const pass: ProbeResult = { ok: true, reason: "HTTP 200", durationMs: 12 };
const fail: ProbeResult = { ok: false, reason: "connection refused", durationMs: 3 };

Deno.test("ProbeTracker is unknown before the first result", () => {
  const tracker = new ProbeTracker(tcpProbe(5432), { now: () => T0 });
  assert.deepEqual(tracker.state, {
    name: "probe:tcp-1",
    status: "unknown",
    reason: "not run yet",
    threshold: TIMEOUT_MS,
    intervalMs: 10_000,
    since: iso(T0),
    checkedAt: null,
    consecutiveFailures: 0,
    failuresTotal: 0,
  });
});

Deno.test("ProbeTracker fails only on the failures-th failure in a row, recovers on one pass", () => {
  const probe: ResolvedProbe = tcpProbe(5432);
  const tracker = new ProbeTracker(probe, { now: () => T0 });
  assert.deepEqual(tracker.record(pass, T0 + 1), {
    state: { ...tracker.state, status: "ok", reason: "HTTP 200", value: 12, intervalMs: 10_000 },
    changed: true,
  });
  const first = tracker.record(fail, T0 + 2);
  assert.equal(first.changed, false);
  assert.equal(first.state.status, "ok");
  assert.equal(first.state.reason, "connection refused (1 of 3 failures)");
  assert.equal(tracker.record(fail, T0 + 3).state.status, "ok");
  const third = tracker.record(fail, T0 + 4);
  assert.deepEqual(third, {
    changed: true,
    state: {
      name: "probe:tcp-1",
      status: "failing",
      reason: "connection refused",
      value: 3,
      threshold: TIMEOUT_MS,
      intervalMs: 10_000,
      since: iso(T0 + 4),
      checkedAt: iso(T0 + 4),
      consecutiveFailures: 3,
      failuresTotal: 1,
    },
  });
  assert.equal(tracker.record(fail, T0 + 5).changed, false);
  const back = tracker.record(pass, T0 + 6);
  assert.equal(back.changed, true);
  assert.equal(back.state.status, "ok");
  assert.equal(back.state.consecutiveFailures, 0);
  assert.equal(back.state.failuresTotal, 1);
  assert.equal(back.state.since, iso(T0 + 6));
});

Deno.test("a probe checks more often until a failure is settled and stretches while it passes", () => {
  const tracker = new ProbeTracker(tcpProbe(5432), { now: () => T0 });
  const waits = [pass, pass, pass, pass, pass, fail, fail, fail, fail, pass, pass, pass].map(
    (result, i) => tracker.record(result, T0 + i).state.intervalMs,
  );
  assert.deepEqual(waits, [
    10_000, // the first pass: the interval as written
    20_000, // passes follow passes: doubling...
    40_000,
    40_000, // ...up to max_interval
    40_000,
    2_000, // a failure, not yet confirmed (1 of 3): min_interval
    2_000, // 2 of 3
    10_000, // confirmed failing: the written interval, a service that is down is not hammered
    10_000,
    2_000, // the first pass after failures: confirm the recovery soon
    10_000, // a second pass: back to the interval
    20_000,
  ]);
});

Deno.test("ProbeTracker with failures = 1 fails on the first failure", () => {
  const tracker = new ProbeTracker({ ...tcpProbe(5432), failures: 1 });
  const { state, changed } = tracker.record(fail, T0);
  assert.equal(changed, true);
  assert.equal(state.status, "failing");
  assert.equal(state.reason, "connection refused");
});

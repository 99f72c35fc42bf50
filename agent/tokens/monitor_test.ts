import assert from "node:assert/strict";
import { join } from "node:path";
import { TokenMonitor } from "./monitor.ts";
import type { ResolvedToken, TokenStatus } from "./types.ts";
import {
  eventually,
  FakeClock,
  refreshCommand,
  signJwt,
  testToken,
  TokenServer,
} from "./_testing.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A monitor on a fake clock that records every change it reports. */
async function watch(token: ResolvedToken, clock: FakeClock, options: { watch?: boolean } = {}) {
  const changes: TokenStatus[] = [];
  const monitor = new TokenMonitor(token, {
    clock,
    watch: options.watch ?? false,
    onChange: (status) => changes.push(status),
  });
  await monitor.start();
  return { monitor, changes };
}

async function writeJwt(file: string, exp: number): Promise<string> {
  const jwt = await signJwt({ sub: "picker", exp: Math.floor(exp / 1000) });
  await Deno.writeTextFile(file, jwt);
  return jwt;
}

Deno.test("a JWT's lead times are each crossed once, then it is expired", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-token-" });
  const clock = new FakeClock();
  const exp = clock.now() + 5 * HOUR;
  const file = join(dir, "token.jwt");
  await writeJwt(file, exp);
  const token = testToken("sso", {
    format: "jwt",
    file,
    warnBeforeMs: [4 * HOUR, HOUR, 15 * MIN],
    checkIntervalMs: 10 * MIN,
  });
  const { monitor, changes } = await watch(token, clock);
  try {
    assert.equal(monitor.status().state, "valid");
    assert.equal(monitor.status().secondsLeft, 5 * 3600);
    // Step through the whole lifetime in 5-minute steps; the monitor also wakes on its own.
    for (let t = clock.now(); t < exp + 10 * MIN; t += 5 * MIN) {
      const seen = changes.length;
      clock.set(t);
      const boundary = [4 * HOUR, HOUR, 15 * MIN, 0].some((lead) =>
        t - 5 * MIN < exp - lead && exp - lead <= t
      );
      if (boundary) await eventually(`a change at ${t}`, () => changes.length > seen);
    }
    assert.deepEqual(
      changes.map((c) => [c.state, c.warning]),
      [["valid", null], ["expiring", 4 * HOUR], ["expiring", HOUR], ["expiring", 15 * MIN], [
        "expired",
        null,
      ]],
    );
    assert.match(monitor.status().reason, /^expired \d+m ago$/);
  } finally {
    await monitor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the refresh command runs refresh_before the expiry and the new token counts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-token-" });
  const clock = new FakeClock();
  const file = join(dir, "token.jwt");
  const next = join(dir, "next.jwt");
  const exp = clock.now() + HOUR;
  await writeJwt(file, exp);
  await writeJwt(next, exp + 8 * HOUR);
  const token = testToken("sso", {
    format: "jwt",
    file,
    warnBeforeMs: [15 * MIN],
    refresh: {
      command: refreshCommand(next, file),
      cwd: dir,
      timeoutMs: 20_000,
      beforeMs: 30 * MIN,
      minDelayMs: MIN,
      maxDelayMs: 4 * MIN,
    },
  });
  const { monitor } = await watch(token, clock);
  try {
    assert.equal(monitor.status().refresh?.lastRunAt, null);
    clock.set(exp - 30 * MIN);
    const status = await eventually("the refresh", () => {
      const s = monitor.status();
      return s.refresh?.lastOk === true && s;
    }, 20_000);
    assert.equal(status.state, "valid");
    assert.equal(status.expiresAt, new Date(exp + 8 * HOUR).toISOString());
    assert.equal(status.refresh?.failures, 0);
    assert.match(status.refresh?.lastReason ?? "", /^refreshed; expires in 8h 30m$/);
  } finally {
    await monitor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing refresh backs off, doubling up to max_delay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-token-" });
  const clock = new FakeClock();
  const file = join(dir, "token.jwt");
  await writeJwt(file, clock.now() - MIN); // already expired
  const token = testToken("sso", {
    format: "jwt",
    file,
    refresh: {
      command: refreshCommand(join(dir, "no-such-source"), file),
      cwd: dir,
      timeoutMs: 20_000,
      beforeMs: 30 * MIN,
      minDelayMs: MIN,
      maxDelayMs: 4 * MIN,
    },
  });
  const { monitor } = await watch(token, clock);
  try {
    const delays: number[] = [];
    for (let failures = 1; failures <= 4; failures++) {
      const s = await eventually(`refresh failure ${failures}`, () => {
        const r = monitor.status().refresh!;
        return r.failures === failures && !r.running && r;
      }, 20_000);
      assert.equal(s.lastOk, false);
      assert.equal(s.lastReason, "refresh command exit code 1");
      delays.push(Date.parse(s.nextTryAt!) - clock.now());
      clock.set(Date.parse(s.nextTryAt!));
    }
    assert.deepEqual(delays, [MIN, 2 * MIN, 4 * MIN, 4 * MIN]);
    assert.equal(monitor.status().state, "expired");
  } finally {
    await monitor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a rejected token is invalid until a person renews the file (the file is watched)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-token-" });
  await using server = new TokenServer();
  const clock = new FakeClock();
  const file = join(dir, "cookie.jwt");
  await writeJwt(file, clock.now() + 10 * HOUR);
  const token = testToken("sso", {
    format: "jwt",
    file,
    validate: {
      kind: "http",
      url: server.url,
      method: "GET",
      prefix: "Bearer ",
      status: 200,
      intervalMs: HOUR,
      timeoutMs: 5000,
    },
  });
  const { monitor } = await watch(token, clock, { watch: true });
  try {
    assert.equal(monitor.status().state, "invalid");
    assert.equal(monitor.status().reason, "validation failed: HTTP 401 (expected 200)");
    // The person logs in again: a new token the server takes, written in place. No clock move.
    const renewed = await signJwt({ sub: "picker", exp: Math.floor(clock.now() / 1000) + 36000 });
    server.accepted.add(renewed);
    await Deno.writeTextFile(file, renewed);
    // Valid once the server took it: a fresh value shows valid already while its check is on the way.
    await eventually("the renewed token validated", () => monitor.status().validationOk === true);
    assert.equal(monitor.status().state, "valid");
    assert.equal(server.seen.at(-1), renewed);
  } finally {
    await monitor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a token without a stated expiry learns its lifetime and predicts the next expiry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-token-" });
  await using server = new TokenServer();
  const clock = new FakeClock();
  const file = join(dir, "api.token");
  const token = testToken("api", {
    format: "mtime",
    file,
    warnBeforeMs: [10 * MIN],
    checkIntervalMs: 5 * MIN,
    validate: {
      kind: "http",
      url: server.url,
      method: "GET",
      prefix: "Bearer ",
      status: 200,
      intervalMs: MIN,
      timeoutMs: 5000,
    },
  });
  const issue = async (n: number) => {
    const value = `api-token-${n}`;
    server.accepted.add(value);
    await Deno.writeTextFile(file, value);
    await Deno.utime(file, clock.now() / 1000, clock.now() / 1000);
    return value;
  };
  await issue(0);
  const { monitor } = await watch(token, clock);
  try {
    assert.equal(monitor.status().expiresAt, null);
    assert.equal(monitor.status().confidence, 0);
    for (const [n, lifetime] of [58 * MIN, 63 * MIN, 60 * MIN].entries()) {
      server.accepted.clear(); // the token stops working after its lifetime
      clock.advance(lifetime);
      await eventually(`lifetime ${n} observed`, () => monitor.status().state === "invalid");
      await issue(n + 1);
      monitor.poke();
      await eventually(`token ${n + 1} validated`, () => monitor.status().validationOk === true);
      assert.notEqual(monitor.status().state, "invalid");
    }
    const status = monitor.status();
    assert.equal(status.predicted, true);
    const left = status.secondsLeft! * 1000;
    assert.ok(Math.abs(left - HOUR) <= 0.1 * HOUR, `predicted ${left} ms, expected about 1 h`);
    assert.ok(status.confidence > 0.5, `confidence ${status.confidence}`);
    assert.match(
      status.reason,
      /^predicted to expire in \d+[hm]( \d+m)? \(confidence 0\.\d+, learned lifetime 1h\)$/,
    );
  } finally {
    await monitor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { join } from "node:path";
import type { LeaseResponse } from "../shared/protocol.ts";
import { denoFixture, tempDir, testScript, until } from "../tests/_helpers.ts";
import { systemClock } from "./clock.ts";
import { parseConfig } from "./config.ts";
import type { ResolvedCollectorLink } from "./config_types.ts";
import { EventLog } from "./event_log.ts";
import { platform } from "./platform/mod.ts";
import { SiteLeaseManager, waitingReason } from "./site_lease.ts";
import { Supervisor } from "./supervisor.ts";

const LINK: ResolvedCollectorLink = {
  url: "http://127.0.0.1:9/",
  token: "t0ken",
  heartbeatIntervalMs: 10_000,
  batchSize: 500,
  spoolLimit: 1000,
  timeoutMs: 1000,
  leaseTtlMs: 1500,
};

const FREE: LeaseResponse = { held: false, holder: null, expiresAt: null };
const OTHER: LeaseResponse = {
  held: false,
  holder: "BFI4/ws-07",
  expiresAt: "2026-05-01T12:00:15.000Z",
};
const MINE: LeaseResponse = {
  held: true,
  holder: "BFI4/ws-01",
  expiresAt: "2026-05-01T12:00:15.000Z",
};

/** A collector that answers lease requests with `answer` (an Error: no answer). */
class FakeCollector {
  answer: LeaseResponse | Error = OTHER;
  requests: { url: string; action: string; ttlMs?: number }[] = [];

  readonly fetch: typeof fetch = (input, init) => {
    const body = JSON.parse(String(init?.body));
    this.requests.push({ url: String(input), ...body });
    if (this.answer instanceof Error) return Promise.reject(this.answer);
    return Promise.resolve(Response.json(body.action === "release" ? FREE : this.answer));
  };
}

async function harness() {
  const dir = await tempDir();
  const kv = await Deno.openKv(join(dir.path, "agent.kv"));
  const events = await EventLog.open(kv);
  const pidDir = join(dir.path, "pids");
  await Deno.mkdir(pidDir, { recursive: true });
  const supervisor = new Supervisor({
    platform,
    events,
    clock: systemClock,
    pidDir,
    logDir: join(dir.path, "logs"),
  });
  const collector = new FakeCollector();
  const leases = new SiteLeaseManager({
    config: LINK,
    supervisor,
    host: "ws-01",
    fetch: collector.fetch,
  });
  const script = testScript("report", denoFixture("print_hang.ts", "1"), { singleton: "site" });
  return {
    supervisor,
    leases,
    collector,
    script,
    status: () => supervisor.statusOf("report"),
    async apply() {
      const config = parseConfig(
        '[collector]\nurl = "http://127.0.0.1:9/"\ntoken = "t0ken"\n',
        { path: join(dir.path, "scriptmon.toml"), vars: {} },
      );
      await supervisor.apply({ ...config, scripts: { report: script } });
    },
    async [Symbol.asyncDispose]() {
      await leases.close({ release: false });
      await supervisor.shutdown();
      await events.flush();
      kv.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("the supervisor does not start a singleton script by itself", async () => {
  await using h = await harness();
  await h.apply();
  assert.equal(h.status().state, "stopped");
  assert.equal(h.status().reason, "waiting for the site lease");
});

Deno.test("a script whose lease another agent holds stays stopped, saying who holds it", async () => {
  await using h = await harness();
  await h.apply();
  h.leases.start();
  await until("the acquire", () => h.collector.requests.length >= 2);
  assert.equal(h.status().state, "stopped");
  assert.equal(
    h.status().reason,
    "waiting for the site lease (held by BFI4/ws-07 until 2026-05-01T12:00:15.000Z)",
  );
  assert.deepEqual(h.collector.requests[0], {
    url: "http://127.0.0.1:9/api/v1/leases/report?host=ws-01",
    action: "acquire",
    ttlMs: 1500,
  });
});

Deno.test("holding the lease starts the script; losing it at a renewal stops it", async () => {
  await using h = await harness();
  h.collector.answer = MINE;
  await h.apply();
  h.leases.start();
  await until("the script running", () => h.status().state === "running");
  await until("a renewal", () => h.collector.requests.some((r) => r.action === "renew"));
  h.collector.answer = OTHER;
  await until("the script stopped", () => h.status().state === "stopped");
  assert.equal(h.status().reason, waitingReason(OTHER));
});

Deno.test("with the collector unreachable the holder runs until its lease would expire", async () => {
  await using h = await harness();
  h.collector.answer = MINE;
  await h.apply();
  h.leases.start();
  await until("the script running", () => h.status().state === "running");
  const lastRenewal = Date.now();
  h.collector.answer = new TypeError("fetch failed");
  await until("the script stopped", () => h.status().state === "stopped", 5000);
  const ranFor = Date.now() - lastRenewal;
  // Stopped by the local expiry: not at once, and before the lease's 1.5 s are over.
  assert.ok(ranFor >= 200 && ranFor < 1500, `stopped ${ranFor} ms after the last renewal`);
  assert.match(
    h.status().reason ?? "",
    /^waiting for the site lease \(no answer .*fetch failed\)$/,
  );
});

Deno.test("a non-holder never starts the script while the collector is unreachable", async () => {
  await using h = await harness();
  h.collector.answer = new TypeError("fetch failed");
  await h.apply();
  h.leases.start();
  await until("three attempts", () => h.collector.requests.length >= 3);
  assert.equal(h.status().state, "stopped");
  assert.equal(
    h.status().reason,
    "waiting for the site lease (no answer from the collector: fetch failed)",
  );
});

Deno.test("a singleton script started by hand on a non-holder is stopped again", async () => {
  await using h = await harness();
  await h.apply();
  h.leases.start();
  await until("the acquire", () => h.collector.requests.length >= 1);
  await h.supervisor.get("report").start();
  await until("the script stopped", () => h.status().state === "stopped", 5000);
  assert.equal(h.status().reason, waitingReason(OTHER));
});

Deno.test("close({ release: true }) gives a held lease up", async () => {
  await using h = await harness();
  h.collector.answer = MINE;
  await h.apply();
  h.leases.start();
  await until("the script running", () => h.status().state === "running");
  await h.supervisor.shutdown();
  await h.leases.close({ release: true });
  assert.equal(h.collector.requests.at(-1)?.action, "release");
});

import assert from "node:assert/strict";
import { join } from "node:path";
import type { LeaseResponse } from "../../shared/protocol.ts";
import { denoFixture, tempDir, testScript, until } from "../../tests/_helpers.ts";
import { systemClock } from "../clock.ts";
import { openKv, STORE_FILE } from "../kv.ts";
import { parseConfig } from "../config/mod.ts";
import type { ResolvedCollectorLink, ResolvedScript } from "../../shared/agent_config/types.ts";
import { EventLog } from "./event_log.ts";
import { platform } from "../platform/mod.ts";
import { SiteLeaseManager, waitingReason } from "./site_lease.ts";
import { Supervisor } from "./supervisor.ts";

const LINK: ResolvedCollectorLink = {
  url: "http://127.0.0.1:9/",
  urls: ["http://127.0.0.1:9/"],
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

/** A collector that answers lease requests with `answer` (an Error: no answer) after `delayMs`. */
class FakeCollector {
  answer: LeaseResponse | Error = OTHER;
  requests: { url: string; action: string; ttlMs?: number; replicas?: number; replica?: number }[] =
    [];
  delayMs = 0;
  /** Requests not answered yet, and the most there were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** When the last request answered "held" was sent (Date.now()). */
  lastHeldSentAt = 0;

  readonly fetch: typeof fetch = async (input, init) => {
    const sentAt = Date.now();
    const body = JSON.parse(String(init?.body));
    this.requests.push({ url: String(input), ...body });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) await delay(this.delayMs, init?.signal ?? undefined);
      const answer = this.answer;
      if (answer instanceof Error) throw answer;
      if (answer.held && body.action !== "release") this.lastHeldSentAt = sentAt;
      return Response.json(body.action === "release" ? FREE : answer);
    } finally {
      this.inFlight--;
    }
  };
}

/** Waits `ms`, or rejects with the reason once `signal` aborts. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

async function harness(options: { ttlMs?: number } = {}) {
  const dir = await tempDir();
  const kv = await openKv(join(dir.path, STORE_FILE));
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
    config: { ...LINK, leaseTtlMs: options.ttlMs ?? LINK.leaseTtlMs },
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
    async apply(scripts: Record<string, ResolvedScript> = { report: script }) {
      const config = parseConfig(
        '[collector]\nurl = "http://127.0.0.1:9/"\ntoken = "t0ken"\n',
        { path: join(dir.path, "scriptmon.toml"), vars: {} },
      );
      await supervisor.apply({ ...config, scripts });
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
  await h.apply({ report: { ...h.script, stopTimeoutMs: 200 } });
  h.leases.start();
  await until("the script running", () => h.status().state === "running");
  h.collector.answer = new TypeError("fetch failed");
  await until("the script stopped", () => h.status().state === "stopped", 5000);
  const ranFor = Date.now() - h.collector.lastHeldSentAt;
  // Stopped by the local expiry: from 1.5 s - 200 ms - 1 s on, before the lease's 1.5 s are over.
  assert.ok(ranFor >= 300 && ranFor < 1500, `stopped ${ranFor} ms after the last renewal`);
  await until(
    "the waiting reason",
    () => /^waiting for the site lease \(no answer .*fetch failed\)$/.test(h.status().reason ?? ""),
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

Deno.test("a holder cut off from the collector kills a script ignoring SIGTERM before its ttl is over", async () => {
  await using h = await harness({ ttlMs: 3000 });
  h.collector.answer = MINE;
  const stubborn = testScript("report", denoFixture("ignore_term.ts"), {
    singleton: "site",
    stopTimeoutMs: 1000,
  });
  await h.apply({ report: stubborn });
  h.leases.start();
  await until("the script running", () => h.status().state === "running");
  await until("a renewal", () => h.collector.requests.some((r) => r.action === "renew"));
  h.collector.answer = new TypeError("fetch failed");
  await until("the script stopped", () => h.status().state === "stopped", 10_000);
  const after = Date.now() - h.collector.lastHeldSentAt;
  // The collector may hand the lease on 3 s after the last granted request.
  assert.ok(after < 3000, `killed ${after} ms after the last granted request`);
});

Deno.test("the leases of several scripts are renewed in parallel", async () => {
  await using h = await harness();
  h.collector.answer = OTHER;
  h.collector.delayMs = 200;
  const scripts: Record<string, ResolvedScript> = {};
  for (const name of ["a", "b", "c"]) {
    scripts[name] = testScript(name, denoFixture("print_hang.ts", "1"), { singleton: "site" });
  }
  await h.apply(scripts);
  h.leases.start();
  await until("three requests", () => h.collector.requests.length >= 3);
  assert.equal(h.collector.maxInFlight, 3);
});

Deno.test("a holder whose collector stops answering kills a script ignoring SIGTERM before its ttl is over", async () => {
  await using h = await harness({ ttlMs: 3000 });
  h.collector.answer = MINE;
  const stubborn = testScript("report", denoFixture("ignore_term.ts"), {
    singleton: "site",
    stopTimeoutMs: 1000,
  });
  await h.apply({ report: stubborn });
  h.leases.start();
  await until("the script running", () => h.status().state === "running");
  await until("a renewal", () => h.collector.requests.some((r) => r.action === "renew"));
  // Requests hang until they time out.
  h.collector.delayMs = 60_000;
  await until("the script stopped", () => h.status().state === "stopped", 10_000);
  const after = Date.now() - h.collector.lastHeldSentAt;
  assert.ok(after < 3000, `killed ${after} ms after the last granted request`);
});

// --- replicas ----------------------------------------------------------------

/** A slot answer: this agent holds `replica` of 3, ws-07 holds slot 0. */
const slot = (replica: number): LeaseResponse => ({
  ...MINE,
  replica,
  replicas: 3,
  holders: ["BFI4/ws-07", ...[1, 2].map((i) => i === replica ? "BFI4/ws-01" : null)],
});

/**
 * Applies a site singleton (with replicas = 3 unless `replicas` says otherwise) whose copies
 * write their starts to a file; `starts()` reads them.
 */
async function sharded(
  h: Awaited<ReturnType<typeof harness>>,
  options: { replicas?: number } = { replicas: 3 },
) {
  const records = await tempDir();
  const file = join(records.path, "starts.txt");
  await h.apply({
    report: testScript("report", denoFixture("replica.ts", file), {
      singleton: "site",
      ...options,
      stopTimeoutMs: 200,
    }),
  });
  return {
    /** `SCRIPTMON_REPLICA SCRIPTMON_REPLICAS` of each start so far. */
    async starts(): Promise<string[]> {
      return (await Deno.readTextFile(file).catch(() => "")).split("\n")
        .filter((line) => line.startsWith("start "))
        .map((line) => line.split(" ").slice(3).join(" "));
    },
    [Symbol.asyncDispose]: () => records[Symbol.asyncDispose](),
  };
}

Deno.test("with replicas the agent asks for a slot, renews it by name and starts its copy with SCRIPTMON_REPLICA and SCRIPTMON_REPLICAS", async () => {
  await using h = await harness();
  h.collector.answer = slot(1);
  await using copies = await sharded(h);
  h.leases.start();
  await until("the copy's start", async () => (await copies.starts()).length === 1);
  assert.deepEqual(await copies.starts(), ["1 3"]);
  await until("a renewal", () => h.collector.requests.some((r) => r.action === "renew"));
  const [acquire, renew] = h.collector.requests;
  assert.deepEqual(acquire, {
    url: "http://127.0.0.1:9/api/v1/leases/report?host=ws-01",
    action: "acquire",
    ttlMs: 1500,
    replicas: 3,
  });
  assert.deepEqual([renew.action, renew.replicas, renew.replica], ["renew", 3, 1]);
  assert.deepEqual(h.status().singleton, {
    scope: "site",
    here: true,
    holder: "BFI4/ws-01, replica 1 of 3, 2 of 3 slots held",
  });
  assert.deepEqual(
    h.leases.status().map((s) => [s.held, s.replica, s.replicas]),
    [[true, 1, 3]],
  );
});

Deno.test("a script without replicas asks as before and starts without SCRIPTMON_REPLICA", async () => {
  await using h = await harness();
  h.collector.answer = MINE;
  await using copies = await sharded(h, {});
  h.leases.start();
  await until("the copy's start", async () => (await copies.starts()).length === 1);
  assert.deepEqual(await copies.starts(), ["- -"]);
  assert.deepEqual(Object.keys(h.collector.requests[0]), ["url", "action", "ttlMs"]);
  assert.equal(h.status().singleton?.holder, "BFI4/ws-01");
});

Deno.test("a copy whose slot changes is restarted with the new SCRIPTMON_REPLICA", async () => {
  await using h = await harness();
  h.collector.answer = slot(1);
  await using copies = await sharded(h);
  h.leases.start();
  await until("the copy's start", async () => (await copies.starts()).length === 1);
  h.collector.answer = slot(2);
  await until("the second start", async () => (await copies.starts()).length === 2, 5000);
  assert.deepEqual(await copies.starts(), ["1 3", "2 3"]);
  assert.equal(h.status().state, "running");
});

Deno.test("without a slot the copy stays stopped naming the holders, and the agent keeps asking until one frees", async () => {
  await using h = await harness();
  const full: LeaseResponse = {
    ...OTHER,
    replica: null,
    replicas: 3,
    holders: ["BFI4/ws-07", "BFI4/ws-08", "BFI4/ws-09"],
  };
  h.collector.answer = full;
  await using copies = await sharded(h);
  h.leases.start();
  await until("three acquires", () => h.collector.requests.length >= 3);
  assert.ok(h.collector.requests.every((r) => r.action === "acquire" && !("replica" in r)));
  assert.equal(h.status().state, "stopped");
  assert.equal(
    h.status().reason,
    "waiting for a site lease slot (3 of 3 held: BFI4/ws-07, BFI4/ws-08, BFI4/ws-09; " +
      "the first until 2026-05-01T12:00:15.000Z)",
  );
  assert.equal(
    h.status().singleton?.holder,
    "BFI4/ws-07 (replica 0), BFI4/ws-08 (replica 1), BFI4/ws-09 (replica 2)",
  );
  h.collector.answer = slot(2);
  await until("the copy's start", async () => (await copies.starts()).length === 1);
  assert.deepEqual(await copies.starts(), ["2 3"]);
});

Deno.test("a copy whose slot is lost is stopped; the slot it gets next starts it with that slot", async () => {
  await using h = await harness();
  h.collector.answer = slot(1);
  await using copies = await sharded(h);
  h.leases.start();
  await until("the copy's start", async () => (await copies.starts()).length === 1);
  h.collector.answer = {
    ...OTHER,
    replica: null,
    replicas: 3,
    holders: ["BFI4/ws-07", null, null],
  };
  await until("the copy stopped", () => h.status().state === "stopped", 5000);
  assert.equal(h.leases.status()[0].replica, null);
  h.collector.answer = slot(0);
  await until("the second start", async () => (await copies.starts()).length === 2, 5000);
  assert.deepEqual(await copies.starts(), ["1 3", "0 3"]);
});

Deno.test("close({ release: true }) names the slot it gives up", async () => {
  await using h = await harness();
  h.collector.answer = slot(2);
  await using copies = await sharded(h);
  h.leases.start();
  await until("the copy's start", async () => (await copies.starts()).length === 1);
  await h.supervisor.shutdown();
  await h.leases.close({ release: true });
  const release = h.collector.requests.at(-1)!;
  assert.deepEqual([release.action, release.replicas, release.replica], ["release", 3, 2]);
});

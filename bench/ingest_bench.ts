/**
 * Collector ingest throughput (issue 5): the real server (`serve()`) on a
 * loopback port with a temporary KV file, and a simulated fleet of 1,000
 * agents in this process, each posting batches of 10 events with a
 * heartbeat of 10 scripts, 50 requests in flight at once, for ~10 s.
 * Then `GET /api/v1/scripts` over the 10,000 scripts that fleet reported.
 *
 * Prints events/s accepted and p50/p99 ingest latency, and the listing time.
 * `BENCH_AGENTS`, `BENCH_SECONDS`, `BENCH_CONCURRENCY` change the sizes.
 */
import { join } from "node:path";
import { parseConfig } from "../collector/config/mod.ts";
import { serve } from "../collector/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { sampleIngest, script } from "../collector/_testing.ts";

const AGENTS = Number(Deno.env.get("BENCH_AGENTS") ?? 1000);
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 10);
const CONCURRENCY = Number(Deno.env.get("BENCH_CONCURRENCY") ?? 50);
const BATCH = 10;
const SCRIPTS = 10;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const dir = await Deno.makeTempDir({ prefix: "scriptmon-ingest-bench-" });
const kv = await Deno.openKv(join(dir, "collector.kv"));
const config = parseConfig(`[collector]\nlisten = "127.0.0.1:0"\nlog_level = "warning"\n`, {
  path: join(dir, "collector.toml"),
  vars: {},
});
const store = new Store(kv);
const now = Date.now();
const agents: { host: string; token: string; seq: number }[] = [];
for (let i = 0; i < AGENTS; i++) {
  const host = `ws-${String(i).padStart(4, "0")}`;
  const { token } = await store.createToken({
    kind: "agent",
    name: host,
    site: `FC${i % 20}`,
    now,
  });
  agents.push({ host, token, seq: 0 });
}
const apiToken =
  (await store.createToken({ kind: "api", name: "bench", role: "admin", now })).token;

const controller = new AbortController();
let port = 0;
const listening = Promise.withResolvers<void>();
const served = serve({
  config,
  kv,
  signal: controller.signal,
  onListen: (address) => {
    port = address.port;
    listening.resolve();
  },
});
await listening.promise;
const base = `http://127.0.0.1:${port}`;

const scripts = Array.from(
  { length: SCRIPTS },
  (_, i) => script(`script_${i}`, { state: i === 0 ? "backoff" : "running" }),
);

function body(index: number): string {
  const agent = { ...agents[index], site: `FC${index % 20}` };
  const request = sampleIngest(agent, { pid: 1000 + index, batch: BATCH, scripts });
  agents[index].seq = agent.seq;
  return JSON.stringify(request);
}

const latencies: number[] = [];
let accepted = 0;
let failed = 0;
const started = performance.now();
const deadline = started + SECONDS * 1000;
await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
  // Worker w serves agents w, w + C, w + 2C, ... so one agent never has two requests in flight.
  for (let round = 0; performance.now() < deadline; round++) {
    const index = (worker + round * CONCURRENCY) % AGENTS;
    const t0 = performance.now();
    const response = await fetch(`${base}/api/v1/ingest`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${agents[index].token}`,
        "content-type": "application/json",
      },
      body: body(index),
    });
    const answer = await response.json();
    latencies.push(performance.now() - t0);
    if (response.ok && answer.ackedSeq === agents[index].seq) accepted += BATCH;
    else failed++;
  }
}));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);

const listing: number[] = [];
let rows = 0;
for (let i = 0; i < 10; i++) {
  const t0 = performance.now();
  const response = await fetch(`${base}/api/v1/scripts`, {
    headers: { authorization: `Bearer ${apiToken}` },
  });
  rows = (await response.json()).scripts.length;
  listing.push(performance.now() - t0);
}
listing.sort((a, b) => a - b);

controller.abort();
await served;
kv.close();
await Deno.remove(dir, { recursive: true });

const ms = (n: number) => `${n.toFixed(1)} ms`;
console.log(
  `ingest: ${AGENTS} agents, batches of ${BATCH} events + ${SCRIPTS} scripts, ${CONCURRENCY} in flight, ${
    elapsed.toFixed(1)
  } s`,
);
console.log(`| measure | value |`);
console.log(`| --- | --- |`);
console.log(`| events accepted per second | ${Math.round(accepted / elapsed)} |`);
console.log(`| requests per second | ${Math.round(latencies.length / elapsed)} |`);
console.log(`| ingest latency p50 | ${ms(percentile(latencies, 50))} |`);
console.log(`| ingest latency p99 | ${ms(percentile(latencies, 99))} |`);
console.log(`| failed requests | ${failed} |`);
console.log(`| GET /api/v1/scripts (${rows} scripts) p50 | ${ms(percentile(listing, 50))} |`);
console.log(`| GET /api/v1/scripts (${rows} scripts) max of 10 | ${ms(listing.at(-1)!)} |`);

/**
 * `deno task bench:soak-collector`: the collector left running under a fleet's steady load, to
 * see that its memory stays flat (issue 22).
 *
 * The collector runs as `collector/main.ts serve` runs it, in its own process, on a KV file in a
 * temporary folder. This process plays 1,000 agents at 20 sites, 10 scripts each, every agent
 * reporting every 10 s (100 requests a second, each with its 10 scripts' states and 2 events),
 * for `BENCH_SOAK_SECONDS` (1800). Every thirtieth of the run it samples the collector's RSS and
 * the KV file's size (with its write-ahead log). It prints start, middle and end, the growth over
 * the last half (end minus middle, and from a least-squares line), and the requests refused.
 * The events' retention is at least two days, so the KV file grows through any run of this
 * bench: its growth per hour is what it prints for that.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Store } from "../collector/store/mod.ts";
import { sampleIngest, script } from "../collector/_testing.ts";
import { formatBytes, formatDuration } from "../shared/config/mod.ts";
import { fileSize, memoryOf, printSoak, sleep, type SoakSample } from "./_soak.ts";

const SECONDS = Number(Deno.env.get("BENCH_SOAK_SECONDS") ?? 1800);
const AGENTS = 1000;
const EVERY_MS = 10_000;
const EVENTS = 2;
const MAIN = resolve(import.meta.dirname!, "..", "collector", "main.ts");

interface Sample extends SoakSample {
  requests: number;
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-collector-soak-" });
  const dataDir = join(dir, "data");
  await Deno.mkdir(dataDir);
  const kvFile = join(dataDir, "collector.kv");
  const agents: { site: string; host: string; token: string; seq: number }[] = [];
  {
    const kv = await Deno.openKv(kvFile);
    const store = new Store(kv);
    for (let i = 0; i < AGENTS; i++) {
      const host = `ws-${String(i).padStart(4, "0")}`;
      const site = `FC${i % 20}`;
      const { token } = await store.createToken({
        kind: "agent",
        name: host,
        site,
        now: Date.now(),
      });
      agents.push({ site, host, token, seq: 0 });
    }
    kv.close();
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const config = join(dir, "collector.toml");
  await Deno.writeTextFile(
    config,
    `[collector]\nlisten = "127.0.0.1:${port}"\ndata_dir = "data"\nlog_level = "warning"\n`,
  );
  const collector = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "--config", config, "serve"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const scripts = Array.from(
    { length: 10 },
    (_, i) => script(`script_${i}`, { state: i === 0 ? "backoff" : "running" }),
  );
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      up = await fetch(`${base}/healthz`).then(
        async (r) => (await r.body?.cancel(), r.ok),
        () => false,
      );
      if (!up) await sleep(100);
    }
    if (!up) throw new Error("the collector did not answer /healthz in 30 s");
    console.error(
      `collector soak: ${formatDuration(SECONDS * 1000)}, ${AGENTS} agents reporting every ` +
        `${formatDuration(EVERY_MS)} (${AGENTS * 1000 / EVERY_MS} requests/s)`,
    );
    let requests = 0;
    let refused = 0;
    const samples: Sample[] = [];
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    const every = Math.max(5, SECONDS / 30) * 1000;
    const sampler = (async () => {
      for (let i = 0; i <= 30 && performance.now() <= end + 1000; i++) {
        const s: Sample = {
          at: performance.now() - t0,
          ...(await memoryOf(collector.pid)),
          store: await fileSize(kvFile) + await fileSize(`${kvFile}-wal`),
          requests,
        };
        samples.push(s);
        console.error(
          `  ${formatDuration(Math.round(s.at / 1000) * 1000)}: RSS ${formatBytes(s.rss)}, KV ${
            formatBytes(s.store)
          }, ` +
            `${s.requests} requests`,
        );
        await sleep(Math.max(0, (i + 1) * every - (performance.now() - t0)));
      }
    })();
    // Agent i reports at t0 + i * EVERY_MS / AGENTS, then every EVERY_MS; 20 workers share them.
    const WORKERS = 20;
    await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      for (let k = w;; k += WORKERS) {
        const due = t0 + (k * EVERY_MS) / AGENTS;
        if (due >= end) return;
        await sleep(Math.max(0, due - performance.now()));
        const agent = agents[k % AGENTS];
        const body = sampleIngest(agent, { pid: 1000 + (k % AGENTS), batch: EVENTS, scripts });
        const res = await fetch(`${base}/api/v1/ingest`, {
          method: "POST",
          headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }).catch(() => null);
        await res?.body?.cancel();
        requests++;
        if (res === null || !res.ok) refused++;
      }
    }));
    await sampler;
    const { mid, last } = printSoak(
      `collector soak, ${formatDuration(SECONDS * 1000)}`,
      samples,
      { store: "KV file", count: "requests" },
      (s) => s.requests,
    );
    const perHour = (last.store - mid.store) / ((last.at - mid.at) / 3_600_000);
    console.log(
      `\nrequests ${requests}, refused ${refused}; the KV file grew ${formatBytes(perHour)} an ` +
        `hour over the last half (events are kept for retention, at least 2 days)`,
    );
  } finally {
    collector.kill("SIGTERM");
    await collector.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();

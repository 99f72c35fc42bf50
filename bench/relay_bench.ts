/**
 * Relay throughput and added latency (issue 4), on the real agent in-process
 * with a local HTTP server standing in for the chat provider.
 *
 * - accepted: relayed posts answered 202 per second (20 clients at once)
 * - delivered: posts the provider received per second, from the first POST
 *   to the last arrival
 * - added latency: one post at a time, POST to the relay → arrival at the
 *   provider, next to POSTing straight to the provider
 */
import { join } from "node:path";
import { startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";

const MESSAGES = Number(Deno.env.get("BENCH_RELAY_MESSAGES") ?? 2000);
const SINGLES = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A provider stand-in that resolves a waiter per arrival. */
function provider() {
  let arrivals = 0;
  const waiters: { n: number; resolve: (t: number) => void }[] = [];
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen() {} },
    async (req) => {
      await req.body?.cancel();
      arrivals++;
      const now = performance.now();
      for (const w of waiters.filter((w) => arrivals >= w.n)) w.resolve(now);
      return new Response("ok");
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    arrived: (n: number) =>
      new Promise<number>((resolve) => {
        if (arrivals >= n) resolve(performance.now());
        else waiters.push({ n, resolve });
      }),
    get arrivals() {
      return arrivals;
    },
    close: () => (abort.abort(), server.finished),
  };
}

const slack = provider();
const dir = await Deno.makeTempDir({ prefix: "scriptmon-bench-" });
const path = join(dir, "scriptmon.toml");
await Deno.writeTextFile(
  path,
  `[agent]\ndata_dir = "data"\napi_port = 0\nlog_level = "warning"\n\n` +
    `[webhooks.ops]\nkind = "slack"\nurl = "${slack.url}"\n`,
);
const agent = await startAgent({ config: await loadConfig(path), watch: false });
const relay = `http://127.0.0.1:${agent.apiPort}/relay/ops`;
const post = async (url: string, text: string) => {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text }),
  });
  await res.body?.cancel();
  return res.status;
};

try {
  // Throughput.
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < MESSAGES) {
      const status = await post(relay, `throughput ${next++}`);
      if (status !== 202) throw new Error(`relay answered ${status}`);
    }
  }));
  const accepted = performance.now();
  const delivered = await slack.arrived(MESSAGES);
  // Added latency, one at a time.
  const viaRelay: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < SINGLES; i++) {
    const s = performance.now();
    const arrived = slack.arrived(MESSAGES + 2 * i + 1);
    await post(relay, `latency ${i}`);
    viaRelay.push((await arrived) - s);
    const d = performance.now();
    const arrivedDirect = slack.arrived(MESSAGES + 2 * i + 2);
    await post(slack.url, `direct ${i}`);
    direct.push((await arrivedDirect) - d);
  }
  await agent.notifier.outbox.idle();
  if (slack.arrivals !== MESSAGES + 2 * SINGLES) {
    throw new Error(`the provider got ${slack.arrivals} posts, expected ${MESSAGES + 2 * SINGLES}`);
  }
  viaRelay.sort((a, b) => a - b);
  direct.sort((a, b) => a - b);
  const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000))}/s`;
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  console.log(`| relay (${MESSAGES} posts, 20 clients) | rate |
|---|---|
| accepted (202) | ${rate(MESSAGES, accepted - t0)} |
| delivered to the provider | ${rate(MESSAGES, delivered - t0)} |

| one post (${SINGLES} in a row) | p50 | p95 | max |
|---|---|---|---|
| straight to the provider | ${ms(percentile(direct, 50))} | ${ms(percentile(direct, 95))} | ${
    ms(direct.at(-1)!)
  } |
| through the relay (claim, store, send, mark) | ${ms(percentile(viaRelay, 50))} | ${
    ms(percentile(viaRelay, 95))
  } | ${ms(viaRelay.at(-1)!)} |`);
} finally {
  await agent.shutdown();
  await slack.close();
  await Deno.remove(dir, { recursive: true });
}

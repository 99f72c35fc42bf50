/**
 * `deno task bench:soak`: the agent left running under load, as a workstation runs it for months,
 * to see that its memory and its store stay flat (issue 22).
 *
 * The agent runs as `deno task agent` runs it, in its own process, with `[agent] history =
 * "10m"`: 10 scripts that each exit 1 s after starting (restarted after 1 s, for ever) and 5
 * posts a second relayed to a stand-in Slack webhook, for `BENCH_SOAK_SECONDS` (3600). Every
 * `BENCH_SOAK_SECONDS / 30` it samples the agent's RSS (`/proc/<pid>/status`) and the store's
 * size on disk (`agent.sqlite` and its write-ahead log). It prints the samples, the RSS growth
 * over the last half of the run, the store's growth over its last third (it must stop growing
 * once the history period is shorter than the run), and every post delivered exactly once.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { agentFlags } from "../scripts/agent_flags.ts";
import { formatBytes, formatDuration } from "../shared/config/mod.ts";
import { fileSize, memoryOf, printSoak, sleep, type SoakSample } from "./_soak.ts";

const SECONDS = Number(Deno.env.get("BENCH_SOAK_SECONDS") ?? 3600);
const POSTS_PER_SECOND = 5;
const MAIN = resolve(import.meta.dirname!, "..", "agent", "main.ts");

/** A stand-in Slack webhook counting each relayed text's arrivals. */
function provider() {
  const seen = new Map<string, number>();
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen() {} },
    async (req) => {
      const { text } = await req.json() as { text?: string };
      if (typeof text === "string") seen.set(text, (seen.get(text) ?? 0) + 1);
      return new Response("ok");
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    seen,
    close: () => (abort.abort(), server.finished),
  };
}

interface Sample extends SoakSample {
  restarts: number;
}

async function main(): Promise<void> {
  const slack = provider();
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-soak-" });
  const starts = join(dir, "starts");
  const scripts = Array.from(
    { length: 10 },
    (_, i) =>
      `[scripts.crash${i}]\ncommand = ["/bin/sh", "-c", "echo >> '${starts}'; sleep 1; exit 1"]\n` +
      `[scripts.crash${i}.restart]\nmin_delay = "1s"\nmax_delay = "1s"\njitter = 0.0\n` +
      `max_restarts = 100000000\n`,
  );
  const config = join(dir, "scriptmon.toml");
  await Deno.writeTextFile(
    config,
    `[agent]\ndata_dir = "data"\napi_port = 0\nlog_level = "warning"\nhistory = "10m"\n\n` +
      `[webhooks.ops]\nkind = "slack"\nurl = "${slack.url}"\n\n${scripts.join("\n")}`,
  );
  const agent = new Deno.Command(Deno.execPath(), {
    args: ["run", ...agentFlags(), MAIN, "run", "--config", config],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const dataDir = join(dir, "data");
  const store = async () =>
    await fileSize(join(dataDir, "agent.sqlite")) +
    await fileSize(join(dataDir, "agent.sqlite-wal"));
  const restarts = async () =>
    (await Deno.readTextFile(starts).catch(() => "")).split("\n").length - 1;
  try {
    let port = 0;
    for (let i = 0; i < 600 && port === 0; i++) {
      const holder = await Deno.readTextFile(join(dataDir, "agent.holder.json")).catch(() => "");
      port = holder ? (JSON.parse(holder).apiPort ?? 0) : 0;
      if (port === 0) await sleep(100);
    }
    if (port === 0) throw new Error("the agent's local API did not come up in 60 s");
    const relay = `http://127.0.0.1:${port}/relay/ops`;
    console.error(
      `soak: ${formatDuration(SECONDS * 1000)}, 10 crash-looping scripts, ` +
        `${POSTS_PER_SECOND} posts/s, history 10m`,
    );

    const samples: Sample[] = [];
    const t0 = performance.now();
    const every = Math.max(5, SECONDS / 30) * 1000;
    const sampler = (async () => {
      for (let i = 0; i <= 30 && performance.now() - t0 <= SECONDS * 1000 + 1000; i++) {
        const at = performance.now() - t0;
        samples.push({
          at,
          ...(await memoryOf(agent.pid)),
          store: await store(),
          restarts: await restarts(),
        });
        console.error(
          `  ${formatDuration(Math.round(at / 1000) * 1000)}: RSS ${
            formatBytes(samples.at(-1)!.rss)
          }, ` +
            `store ${formatBytes(samples.at(-1)!.store)}, ${samples.at(-1)!.restarts} restarts`,
        );
        await sleep(Math.max(0, (i + 1) * every - (performance.now() - t0)));
      }
    })();

    const total = SECONDS * POSTS_PER_SECOND;
    let refused = 0;
    for (let i = 0; i < total; i++) {
      await sleep(Math.max(0, t0 + (i * 1000) / POSTS_PER_SECOND - performance.now()));
      const res = await fetch(relay, {
        method: "POST",
        body: JSON.stringify({ text: `soak ${i}` }),
      });
      await res.body?.cancel();
      if (res.status !== 202) refused++;
    }
    await sampler;
    for (let i = 0; i < 300 && slack.seen.size < total; i++) await sleep(100);

    const duplicates = [...slack.seen.values()].filter((n) => n > 1).length;
    const { last } = printSoak(
      `soak, ${formatDuration(SECONDS * 1000)}`,
      samples,
      { store: "store on disk", count: "restarts" },
      (s) => s.restarts,
    );
    console.log(
      `\nrestarts ${last.restarts}; posts ${total}, refused ${refused}, delivered ${slack.seen.size}, ` +
        `delivered twice ${duplicates}`,
    );
  } finally {
    agent.kill("SIGTERM");
    await agent.status;
    await slack.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();

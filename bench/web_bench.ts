/**
 * The fleet page (issue 6) at fleet size: 1,000 agents of 20 sites with 10
 * scripts each (10,000 tiles, a few in trouble), stored through the real
 * `Store.ingest` in a KV file, then `GET /` through the app as an operator
 * (control buttons on every tile): the whole server time (store read,
 * render, response body), and the render alone.
 *
 * `BENCH_AGENTS` and `BENCH_SCRIPTS` change the sizes.
 */
import { join } from "node:path";
import { createApp } from "../collector/mod.ts";
import { parseConfig } from "../collector/config/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { Users } from "../collector/auth/mod.ts";
import { renderFleetPage } from "../collector/web/mod.ts";
import { workstationsFor } from "../collector/web/mod.ts";
import { ingestRequest, script } from "../collector/_testing.ts";
import { UptimeCache } from "../collector/fleet/mod.ts";

const AGENTS = Number(Deno.env.get("BENCH_AGENTS") ?? 1000);
const SCRIPTS = Number(Deno.env.get("BENCH_SCRIPTS") ?? 10);
const ROUNDS = 20;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const dir = await Deno.makeTempDir({ prefix: "scriptmon-web-bench-" });
const kv = await Deno.openKv(join(dir, "collector.kv"));
const store = new Store(kv);
const config = parseConfig("", { path: join(dir, "collector.toml"), vars: {} });
const uptime = new UptimeCache(store, { now: () => Date.now() });
const app = createApp({ store, config, uptime });
const now = Date.now();
for (let i = 0; i < AGENTS; i++) {
  const scripts = Array.from({ length: SCRIPTS }, (_, j) => {
    const n = i * SCRIPTS + j;
    return script(`script_${j}`, {
      ...(n % 97 === 0 ? { state: "crash-looping", restarts: 12, reason: "exit code 1" } : {}),
      ...(n % 89 === 0 ? { health: "unhealthy", reason: "heartbeat missed for 2m" } : {}),
      ...(n % 113 === 0 ? { state: "backoff", pid: null } : {}),
      uptimeMs: 3_600_000 + n,
      rssBytes: 20_000_000 + n * 1000,
    });
  });
  const request = ingestRequest({
    site: `FC${i % 20}`,
    host: `ws-${String(i).padStart(4, "0")}`,
    scripts,
  });
  await store.ingest(request, { now, tokenName: "bench" });
}
// Every tile gets its last 24 hours (uptime, restarts, strip), as a running collector has them.
const refreshStarted = performance.now();
await uptime.refresh();
const refreshMs = performance.now() - refreshStarted;
await new Users(kv).add({ name: "bench", role: "operator", sites: null, password: "pw", now });
const login = await app.request("/login", {
  method: "POST",
  body: new URLSearchParams({ username: "bench", password: "pw" }),
});
const cookie = login.headers.get("set-cookie")!.split(";")[0];

const server: number[] = [];
let bytes = 0;
for (let i = 0; i < ROUNDS + 2; i++) {
  const t0 = performance.now();
  const response = await app.request("/", { headers: { cookie, "accept-encoding": "gzip" } });
  const body = new Uint8Array(await response.arrayBuffer());
  const elapsed = performance.now() - t0;
  if (response.status !== 200) throw new Error(`GET / answered ${response.status}`);
  bytes = body.length;
  if (i >= 2) server.push(elapsed); // the first two warm up the JIT
}
server.sort((a, b) => a - b);

const user = {
  name: "bench",
  role: "operator" as const,
  sites: null,
  sessionHash: "",
  session: { user: "bench", csrf: "x".repeat(43), createdAt: "", lastSeenAt: "", expiresAt: "" },
};
const workstations = workstationsFor(await store.listScripts(), user);
const render: number[] = [];
let raw = 0;
for (let i = 0; i < ROUNDS + 2; i++) {
  const t0 = performance.now();
  raw = renderFleetPage({
    workstations,
    user,
    filter: {},
    recent: (site, host, name) => uptime.recent(site, host, name),
  }).length;
  if (i >= 2) render.push(performance.now() - t0);
}
render.sort((a, b) => a - b);

kv.close();
await Deno.remove(dir, { recursive: true });

const ms = (n: number) => `${n.toFixed(1)} ms`;
console.log(
  `fleet page: ${AGENTS} agents, ${AGENTS * SCRIPTS} scripts, operator (buttons on every tile)`,
);
console.log(`| measure | p50 | p95 | max |`);
console.log(`| --- | --- | --- | --- |`);
for (
  const [name, list] of [["GET / (store read + render + body)", server], [
    "render only",
    render,
  ]] as const
) {
  console.log(
    `| ${name} | ${ms(percentile(list, 50))} | ${ms(percentile(list, 95))} | ${ms(list.at(-1)!)} |`,
  );
}
console.log(`| uptime cache refresh (every script's 24 h) | ${ms(refreshMs)} | | |`);
console.log(
  `| HTML size | ${(raw / 1_000_000).toFixed(2)} MB, ${
    (bytes / 1_000).toFixed(0)
  } kB gzipped | | |`,
);

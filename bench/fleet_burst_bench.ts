/**
 * `deno task bench:burst`: the fleet page in Chromium during a burst (issue 23). A collector on
 * a KV file holds 1,000 (then 100) workstations of 10 scripts at 20 sites; an operator's page is
 * open; then 100 script states change per second for 30 s (`BENCH_BURST_SECONDS`), each through
 * the store and the live stream exactly as an agent's heartbeat goes.
 *
 * Each change carries its send time in the tile's reason, and the page records when a tile with
 * it is drawn (a MutationObserver, stamped at the next animation frame): the delay from the
 * heartbeat being stored to the change on screen. Also: the page's long tasks (over 50 ms), how
 * long a key typed in the search box takes to be answered (Event Timing: from the key to the
 * next paint), how long after the burst the last change is drawn, the JS heap before, right
 * after and 10 s after the burst (after a collection), and the load time.
 *
 * `BENCH_BURST_SIZES` ("10000,1000") picks the sizes in tiles.
 *
 * @module
 */
import { join } from "node:path";
import { createApp } from "../collector/mod.ts";
import { parseConfig } from "../collector/config/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { Users } from "../collector/auth/mod.ts";
import { ingestRequest, script } from "../collector/_testing.ts";
import { UptimeCache } from "../collector/fleet/mod.ts";
import { FleetLive } from "../collector/web/mod.ts";
import type { ScriptSummary } from "../shared/mod.ts";
import { launchBrowser } from "../tests/_browser.ts";

const SCRIPTS = 10;
const SITES = 20;
const RATE = 100; // changes a second
const SECONDS = Number(Deno.env.get("BENCH_BURST_SECONDS") ?? 30);
const SIZES = (Deno.env.get("BENCH_BURST_SIZES") ?? "10000,1000").split(",").map(Number);
const TYPE_EVERY_MS = 1500;
/** `BENCH_BURST_TYPING=0`: no typing during the burst (the heap without the search's share). */
const TYPING = Deno.env.get("BENCH_BURST_TYPING") !== "0";

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Draws the page can record: room made before the heap's start is read. */
const MAX_DRAWS = 40_000;

/**
 * What the page records, installed before the burst. Draws go into a buffer made beforehand
 * (workstation number, script number, sent, drawn at): the bench adds nothing to the page's heap
 * while it measures it (a binding back to the bench, tried first, did: 1 MB over a burst).
 */
const RECORDER = `(() => {
  const rec = window.__burst = { longTasks: [], keys: [], draws: new Float64Array(4 * ${MAX_DRAWS}), n: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) rec.longTasks.push(e.duration);
  }).observe({ type: "longtask" });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.name === "keydown" || e.name === "keypress" || e.name === "input") rec.keys.push(e.duration);
    }
  }).observe({ type: "event", durationThreshold: 16 });
  const pending = [];
  let framed = false;
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      for (const node of m.addedNodes) {
        // The block's text and key only: the recorder touches no tile (a touched element keeps a
        // wrapper in the page's heap as long as it lives, which would be the bench's, not the page's).
        if (node.nodeType !== 1 || !node.hasAttribute("data-ws")) continue;
        const ws = Number(/ws-(\\d+)$/.exec(node.getAttribute("data-ws"))[1]);
        for (const match of (node.textContent ?? "").matchAll(/burst@(\\d+)@script_(\\d+)\\./g)) {
          pending.push(ws, Number(match[2]), Number(match[1]));
        }
      }
    }
    if (!framed && pending.length > 0) {
      framed = true;
      requestAnimationFrame(() => {
        framed = false;
        const at = performance.timeOrigin + performance.now();
        for (let i = 0; i + 2 < pending.length && rec.n < ${MAX_DRAWS}; i += 3, rec.n++) {
          rec.draws.set([pending[i], pending[i + 1], pending[i + 2], at], 4 * rec.n);
        }
        pending.length = 0;
      });
    }
  }).observe(document.getElementById("fleet"), { childList: true, subtree: true });
})()`;

interface Result {
  tiles: number;
  loadMs: number;
  firstPaintMs: number;
  sent: number;
  drawn: number;
  delays: number[];
  longTasks: number[];
  keys: number[];
  backlogMs: number;
  heapStart: number;
  heapEnd: number;
  heapAfter: number;
  passes: { filter: number; countOn: number; countAll: number };
}

async function run(tiles: number): Promise<Result> {
  const agents = Math.round(tiles / SCRIPTS);
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-burst-bench-" });
  const kv = await Deno.openKv(join(dir, "collector.kv"));
  const store = new Store(kv);
  const config = parseConfig("", { path: join(dir, "collector.toml"), vars: {} });
  const uptime = new UptimeCache(store, { now: () => Date.now() });
  const live = new FleetLive();
  const app = createApp({ store, config, uptime, live });
  const scriptsOf: ScriptSummary[][] = [];
  const request = (i: number) =>
    ingestRequest({
      site: `FC${i % SITES}`,
      host: `ws-${String(i).padStart(4, "0")}`,
      scripts: scriptsOf[i],
    });
  for (let i = 0; i < agents; i++) {
    scriptsOf.push(
      Array.from(
        { length: SCRIPTS },
        (_, j) =>
          script(`script_${j}`, { uptimeMs: 3_600_000 + j, rssBytes: 20_000_000 + j * 1000 }),
      ),
    );
    await store.ingest(request(i), { now: Date.now(), tokenName: "bench" });
  }
  await uptime.refresh();
  progress(`${agents} workstations stored`);
  await new Users(kv).add({ name: "bench", role: "operator", sites: null, password: "pw", now: 0 });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}/`;

  await using browser = await launchBrowser([
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
  ]);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(base);
  await page.fill('input[name="username"]', "bench");
  await page.fill('input[name="password"]', "pw");
  await Promise.all([page.waitForURL(base), page.click('button[type="submit"]')]);
  await page.waitForSelector('body[data-live="on"]', { timeout: 30_000 });
  // The load measured: a reload of the signed-in page.
  const loadStarted = performance.now();
  await page.reload({ waitUntil: "load" });
  const loadMs = performance.now() - loadStarted;
  await page.waitForSelector('body[data-live="on"]', { timeout: 30_000 });
  const firstPaintMs = await page.evaluate(() =>
    performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN
  );
  // The page's own passes over every tile, timed once (the median of 5 each).
  const passes = await page.evaluate<{ filter: number; countOn: number; countAll: number }>(
    `(() => {
    const time = (f) => {
      const runs = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        f();
        runs.push(performance.now() - t0);
      }
      return runs.sort((a, b) => a - b)[2];
    };
    const fleet = document.getElementById("fleet");
    return { filter: time(applyFilter), countOn: time(() => countOn(fleet)), countAll: time(countAll) };
  })()`,
  );
  await page.evaluate(RECORDER);
  progress("page loaded, burst starts");
  const heap = () =>
    page.evaluate(() => {
      (globalThis as unknown as { gc?: () => void }).gc?.();
      return (performance as unknown as { memory: { usedJSHeapSize: number } }).memory
        .usedJSHeapSize;
    });
  // The search typed in once before: the heap's start includes what a first search compiles.
  if (TYPING) {
    await page.focus('input[name="q"]');
    for (let i = 0; i < 3; i++) {
      await page.keyboard.type("w");
      await page.keyboard.press("Backspace");
    }
  }
  const heapStart = await heap();

  // The burst: RATE changes a second, spread evenly; a key typed now and then meanwhile.
  const total = RATE * SECONDS;
  const started = Date.now();
  const changes: { key: string; sent: number }[] = [];
  let typed = 0;
  const typing = (async () => {
    if (!TYPING) return;
    await page.focus('input[name="q"]');
    while (Date.now() - started < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, TYPE_EVERY_MS));
      await page.keyboard.type(typed % 2 === 0 ? "w" : "", { delay: 0 });
      if (typed % 2 === 1) await page.keyboard.press("Backspace");
      typed++;
    }
  })();
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const i = Math.floor(Math.random() * agents);
    const j = Math.floor(Math.random() * SCRIPTS);
    const now = Date.now();
    scriptsOf[i][j] = script(`script_${j}`, {
      state: n % 2 === 0 ? "crash-looping" : "backoff",
      pid: null,
      restarts: n,
      reason: `exit code 1 burst@${now}@script_${j}.`,
    });
    const req = request(i);
    await store.ingest(req, { now, tokenName: "bench" });
    live.reported({
      site: req.agent.site,
      host: req.agent.host,
      os: req.agent.os,
      version: req.agent.version,
      online: true,
      scripts: req.scripts,
    });
    changes.push({ key: `${req.agent.site}/${req.agent.host}/script_${j}`, sent: now });
  }
  const burstEnded = Date.now();
  progress("burst sent");
  await typing;
  const heapEnd = await heap();
  // 10 s of quiet after the burst: the backlog drawn, the heap back.
  const quietUntil = burstEnded + 10_000;
  if (quietUntil > Date.now()) await new Promise((r) => setTimeout(r, quietUntil - Date.now()));
  const heapAfter = await heap();
  const rec = await page.evaluate(() => {
    const { longTasks, keys, draws, n } = (globalThis as unknown as {
      __burst: { longTasks: number[]; keys: number[]; draws: Float64Array; n: number };
    }).__burst;
    return { longTasks, keys, draws: Array.from(draws.subarray(0, 4 * n)) };
  });
  const drawn: { key: string; sent: number; at: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rec.draws.length; i += 4) {
    const [ws, j, sent, at] = rec.draws.slice(i, i + 4);
    const key = `FC${ws % SITES}/ws-${String(ws).padStart(4, "0")}/script_${j}`;
    // A block drawn again (a sibling changed) shows an earlier change again: counted once.
    if (seen.has(`${key} ${sent}`)) continue;
    seen.add(`${key} ${sent}`);
    drawn.push({ key, sent, at });
  }
  await browser.close(); // first: the page's live stream holds the server open
  await server.shutdown();
  kv.close();
  await Deno.remove(dir, { recursive: true });
  // A change is on screen when its tile is drawn with it or with a later change (two changes of
  // one tile within a frame are drawn once, as the later one).
  const drawsOf = new Map<string, { sent: number; at: number }[]>();
  for (const d of drawn) drawsOf.set(d.key, [...drawsOf.get(d.key) ?? [], d]);
  const delays: number[] = [];
  for (const change of changes) {
    const draw = (drawsOf.get(change.key) ?? []).find((d) => d.sent >= change.sent);
    if (draw !== undefined) delays.push(draw.at - change.sent);
  }
  delays.sort((a, b) => a - b);
  const lastDrawn = Math.max(...drawn.map((d) => d.at));
  return {
    tiles: agents * SCRIPTS,
    loadMs,
    firstPaintMs,
    sent: changes.length,
    drawn: delays.length,
    delays,
    longTasks: rec.longTasks.sort((a, b) => a - b),
    keys: rec.keys.sort((a, b) => a - b),
    backlogMs: Math.max(0, lastDrawn - burstEnded),
    heapStart,
    heapEnd,
    heapAfter,
    passes,
  };
}

function progress(text: string): void {
  console.error(`  ${new Date().toISOString().slice(11, 19)} ${text}`);
}

const seconds = (ms: number) => ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const results: Result[] = [];
for (const size of SIZES) {
  console.error(`burst: ${size} tiles, ${RATE} changes/s for ${SECONDS} s`);
  results.push(await run(size));
  printTable(results);
}

function printTable(results: Result[]): void {
  const row = (name: string, f: (r: Result) => string) =>
    console.log(`| ${name} | ${results.map(f).join(" | ")} |`);
  console.log(`\n| measure | ${results.map((r) => `${r.tiles} tiles`).join(" | ")} |`);
  console.log(`| --- | ${results.map(() => "---").join(" | ")} |`);
  row("page load (reload, to `load`)", (r) => seconds(r.loadMs));
  row("first contentful paint", (r) => seconds(r.firstPaintMs));
  row("changes on screen / sent", (r) => `${r.drawn} / ${r.sent}`);
  row("change on screen p50", (r) => seconds(percentile(r.delays, 50)));
  row("change on screen p95", (r) => seconds(percentile(r.delays, 95)));
  row("change on screen max", (r) => seconds(r.delays.at(-1) ?? NaN));
  row(
    "changes on screen within 1 s",
    (r) => `${(100 * r.delays.filter((d) => d <= 1000).length / Math.max(1, r.sent)).toFixed(1)} %`,
  );
  row(
    "long tasks (> 50 ms), longest",
    (r) => `${r.longTasks.length}, ${r.longTasks.length ? seconds(r.longTasks.at(-1)!) : "none"}`,
  );
  row(
    "key in the search box to paint, p95 / max",
    (r) =>
      r.keys.length === 0
        ? "all under 16 ms"
        : `${seconds(percentile(r.keys, 95))} / ${
          seconds(r.keys.at(-1)!)
        } (${r.keys.length} over 16 ms)`,
  );
  row("drawing after the burst ended", (r) => seconds(r.backlogMs));
  row(
    "the page's passes over every tile: filter, count-on, counts",
    (r) =>
      [r.passes.filter, r.passes.countOn, r.passes.countAll].map((ms) => `${ms.toFixed(1)} ms`)
        .join(", "),
  );
  row(
    `JS heap (${
      (MAX_DRAWS * 32 / 1_048_576).toFixed(1)
    } MB of it the bench's buffer): start, end of burst, 10 s later`,
    (r) => `${mb(r.heapStart)}, ${mb(r.heapEnd)}, ${mb(r.heapAfter)}`,
  );
}

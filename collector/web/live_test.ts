import assert from "node:assert/strict";
import { script } from "../_testing.ts";
import { renderWorkstation, type WorkstationView } from "./fleet_page.tsx";
import { FleetLive } from "./live.ts";
import type { RecentHistory } from "../fleet/uptime_cache.ts";

function ws(site: string, host: string, state = "running"): WorkstationView {
  return {
    site,
    host,
    os: "linux",
    version: "1",
    online: true,
    scripts: [script("rates", { state })],
  };
}

Deno.test("FleetLive passes a workstation on only when a tile would change", () => {
  const live = new FleetLive();
  const seen: string[] = [];
  const stop = live.subscribe(null, (w) => seen.push(`${w.host}:${w.scripts[0].state}`))!;
  live.reported(ws("BFI4", "a"));
  live.reported({ ...ws("BFI4", "a"), scripts: [script("rates", { uptimeMs: 999_999 })] });
  live.reported(ws("BFI4", "a", "backoff"));
  // Another agent of the machine took the script over: the tile says who runs it.
  const held = { scope: "machine" as const, here: true, holder: "ann, pid 4242" };
  live.reported({
    ...ws("BFI4", "a", "backoff"),
    scripts: [script("rates", { state: "backoff", singleton: held })],
  });
  stop();
  live.reported(ws("BFI4", "a"));
  assert.deepEqual(seen, ["a:running", "a:backoff", "a:backoff"]);
});

Deno.test("FleetLive with nobody subscribed only remembers; a subscriber then gets changes from the last report", () => {
  const live = new FleetLive();
  live.reported(ws("BFI4", "a"));
  live.reported(ws("BFI4", "b"));
  live.reported(ws("BFI4", "b", "backoff"));
  const seen: string[] = [];
  const stop = live.subscribe(null, (w) => seen.push(`${w.host}:${w.scripts[0].state}`))!;
  live.reported(ws("BFI4", "a"));
  live.reported(ws("BFI4", "b", "backoff"));
  live.reported(ws("BFI4", "a", "crashed"));
  live.reported(ws("BFI4", "a", "crashed"));
  stop();
  assert.deepEqual(seen, ["a:crashed"]);
});

Deno.test("a tile says when its agent runs a machine singleton, and for whom", () => {
  const html = renderWorkstation({
    ...ws("BFI4", "a"),
    scripts: [
      script("rates", { singleton: { scope: "machine", here: true, holder: "ann, pid 4242" } }),
    ],
  }, { control: false });
  assert.match(html, /runs here for the machine \(ann, pid 4242\)/);
  const waiting = renderWorkstation({
    ...ws("BFI4", "a"),
    scripts: [script("rates", {
      state: "stopped",
      reason: "waiting for the machine claim (held by bob, pid 77)",
      singleton: { scope: "machine", here: false, holder: "bob, pid 77" },
    })],
  }, { control: false });
  assert.match(waiting, /waiting for the machine claim \(held by bob, pid 77\)/);
});

Deno.test("FleetLive never sends an unchanged workstation again; memory goes out when it moved a tenth", () => {
  let now = 0;
  const live = new FleetLive({ clock: { now: () => now } });
  const seen: (number | null)[] = [];
  const stop = live.subscribe(null, (w) => seen.push(w.scripts[0].rssBytes))!;
  const memory = [100e6, 101e6, 95e6, 91e6, 89e6, 89e6, 97e6, 98e6, null, null, 50e6];
  for (const [i, rssBytes] of memory.entries()) {
    now = i * 10_000; // an hour of the same state: nothing again but memory that moved
    live.reported({ ...ws("BFI4", "a"), scripts: [script("rates", { uptimeMs: now, rssBytes })] });
  }
  // 100 sent; 101, 95, 91 within a tenth of it; 89 is not; then 97 is within a tenth of 89, 98 not …
  assert.deepEqual(seen, [100e6, 89e6, 98e6, null, 50e6]);
  stop();
});

Deno.test("FleetLive sends a workstation again when a tile's last 24 hours changed", () => {
  const days = new Map<string, RecentHistory>([
    ["rates", { ratio: 0.9995, restarts: 1, strip: "u".repeat(23) + "d" }],
  ]);
  const live = new FleetLive({ recent: (_site, _host, name) => days.get(name) ?? null });
  let sent = 0;
  const stop = live.subscribe(null, () => sent++)!;
  live.reported(ws("BFI4", "a"));
  live.reported(ws("BFI4", "a"));
  days.set("rates", { ratio: 0.9996, restarts: 1, strip: "u".repeat(23) + "d" }); // 99.9 % still
  live.reported(ws("BFI4", "a"));
  assert.equal(sent, 1, "nothing a tile shows changed");
  days.set("rates", { ratio: 0.9996, restarts: 1, strip: "u".repeat(22) + "du" }); // an hour on
  live.reported(ws("BFI4", "a"));
  assert.equal(sent, 2);
  stop();
});

Deno.test("FleetLive gives each subscriber only its sites, and at most maxClients subscribers", () => {
  const live = new FleetLive({ maxClients: 2 });
  const sea: string[] = [];
  const all: string[] = [];
  const a = live.subscribe(["SEA8"], (w) => sea.push(w.site))!;
  const b = live.subscribe(null, (w) => all.push(w.site))!;
  assert.equal(live.subscribe(null, () => {}), null);
  live.reported(ws("BFI4", "a"));
  live.reported(ws("SEA8", "b"));
  assert.deepEqual([sea, all], [["SEA8"], ["BFI4", "SEA8"]]);
  a();
  b();
  assert.equal(live.clients, 0);
});

Deno.test("FleetLive sends a workstation silent for offlineAfterMs as offline, once", () => {
  let now = 1_000_000;
  const live = new FleetLive({ offlineAfterMs: 3000, clock: { now: () => now } });
  const seen: string[] = [];
  const stop = live.subscribe(null, (w) => seen.push(`${w.host}:${w.online}`))!;
  live.reported(ws("BFI4", "quiet"));
  now += 2000;
  live.reported(ws("BFI4", "busy"));
  now += 1500;
  live.sweep();
  live.sweep();
  assert.deepEqual(seen, ["quiet:true", "busy:true", "quiet:false"]);
  live.reported(ws("BFI4", "quiet"));
  assert.equal(seen.at(-1), "quiet:true", "back online on its next report");
  stop(); // also stops the sweep timer (the test's sanitizer checks)
});

Deno.test("an offline workstation's uptime is its last word: it does not count on in the page", () => {
  const tile = (online: boolean) =>
    renderWorkstation({
      ...ws("BFI4", "a"),
      online,
      scripts: [script("rates", { uptimeMs: 3_600_000 })],
    }, {
      control: false,
      now: 1_800_000_000_000,
    });
  assert.match(tile(true), /<span data-since="1799996400000">up 1h<\/span>/);
  assert.doesNotMatch(tile(false), /data-since/);
  assert.match(tile(false), /up 1h/);
});

import assert from "node:assert/strict";
import { script } from "../_testing.ts";
import { renderWorkstation, type WorkstationView } from "./fleet_page.tsx";
import { FleetLive } from "./live.ts";

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

Deno.test("FleetLive sends an unchanged workstation again after refreshMs, for fresh uptimes", () => {
  let now = 0;
  const live = new FleetLive({ refreshMs: 60_000, clock: { now: () => now } });
  const seen: number[] = [];
  const stop = live.subscribe(null, (w) => seen.push(w.scripts[0].uptimeMs ?? -1))!;
  for (let second = 0; second <= 130; second += 10) {
    now = second * 1000;
    live.reported({ ...ws("BFI4", "a"), scripts: [script("rates", { uptimeMs: now })] });
  }
  assert.deepEqual(seen, [0, 60_000, 120_000]);
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

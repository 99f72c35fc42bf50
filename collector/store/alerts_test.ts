import assert from "node:assert/strict";
import { stopTestStores, testOnStores } from "../../tests/_stores.ts";
import { AlertStore, type NewAlert } from "./alerts.ts";

const DAY = 86_400_000;
const T0 = Date.parse("2026-11-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function alert(host: string, firedAt: number): NewAlert {
  return {
    rule: "script-down",
    key: `script-down|BFI4|${host}|sync|`,
    severity: "critical",
    site: "BFI4",
    host,
    script: "sync",
    check: null,
    title: `sync down on ${host}`,
    firedAt: iso(firedAt),
  };
}

testOnStores(
  "purge() deletes alerts resolved before the cut-off, never a firing one, however old",
  async (kv) => {
    let seq = 0;
    const alerts = new AlertStore(
      kv,
      (now) => `alert-${now.toString(36).padStart(9, "0")}-${seq++}`,
    );
    await alerts.open(alert("ws-old-resolved", T0));
    await alerts.resolve(alert("ws-old-resolved", 0).key, iso(T0 + DAY));
    await alerts.open(alert("ws-old-firing", T0 + 2 * DAY));
    await alerts.open(alert("ws-resolved-late", T0 + 3 * DAY));
    await alerts.resolve(alert("ws-resolved-late", 0).key, iso(T0 + 20 * DAY));
    await alerts.open(alert("ws-new", T0 + 15 * DAY));
    await alerts.resolve(alert("ws-new", 0).key, iso(T0 + 16 * DAY));

    assert.equal(await alerts.purge(T0 + DAY), 0, "resolved exactly at the cut-off: kept");
    assert.equal(await alerts.purge(T0 + 10 * DAY), 1);
    assert.deepEqual((await alerts.list()).map((a) => a.host).sort(), [
      "ws-new",
      "ws-old-firing",
      "ws-resolved-late",
    ]);
    assert.equal(await alerts.purge(T0 + 30 * DAY), 2);
    const left = await alerts.list();
    assert.deepEqual(left.map((a) => [a.host, a.resolvedAt]), [["ws-old-firing", null]]);
    // The firing one still resolves: its open marker was left alone.
    assert.notEqual(await alerts.resolve(alert("ws-old-firing", 0).key, iso(T0 + 31 * DAY)), null);
  },
);

testOnStores("fired() gives the alerts that fired in the window, oldest first", async (kv) => {
  let seq = 0;
  const alerts = new AlertStore(kv, (now) => `alert-${now.toString(36).padStart(9, "0")}-${seq++}`);
  await alerts.open(alert("ws-before", T0 - 1));
  await alerts.open(alert("ws-first", T0));
  await alerts.open(alert("ws-second", T0 + DAY));
  await alerts.resolve(alert("ws-second", 0).key, iso(T0 + 2 * DAY));
  await alerts.open(alert("ws-at-until", T0 + 3 * DAY));
  const fired = [];
  for await (const record of alerts.fired({ since: T0, until: T0 + 3 * DAY })) {
    fired.push([record.host, record.resolvedAt]);
  }
  assert.deepEqual(fired, [["ws-first", null], ["ws-second", iso(T0 + 2 * DAY)]]);
});

stopTestStores();

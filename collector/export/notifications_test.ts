import assert from "node:assert/strict";
import { Outbox } from "../../shared/notify/outbox.ts";
import type { Alert, Channel, MessageRecord } from "../../shared/notify/types.ts";
import { exportSource } from "./dataset.ts";
import { Store } from "../store/store.ts";
import { allRows } from "./_testing.ts";
import { notificationRow, NOTIFICATIONS } from "./notifications.ts";

const T0 = Date.parse("2026-05-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function alert(site: string, host = "ws-01", group?: Alert[]): Alert {
  return {
    rule: "script-down",
    severity: "critical",
    status: "firing",
    title: `rates is down on ${host} (${site})`,
    text: "It exited with 1.",
    site,
    host,
    script: "rates",
    at: iso(T0),
    episode: "1",
    ...(group === undefined ? {} : { group }),
  };
}

/** A channel to queue for; the outbox is never started, so nothing is sent. */
const OPS: ReadonlyMap<string, Channel> = new Map([
  ["ops", { name: "ops", kind: "json", send: () => Promise.resolve({ ok: true as const }) }],
]);

function message(overrides: Partial<MessageRecord>): MessageRecord {
  return {
    id: "000001777636800000-000000-00000000",
    channel: "ops",
    dedupeKey: "k",
    payload: { type: "alert", alert: alert("BFI4") },
    state: "sent",
    createdAt: iso(T0),
    updatedAt: iso(T0 + 2000),
    attempts: 1,
    providerStatus: 200,
    history: [],
    ...overrides,
  };
}

Deno.test("notificationRow() gives a message's delivery and the alert it carries", () => {
  const grouped = alert("BFI4", "ws-01", [alert("BFI4", "ws-02"), alert("SEA8", "ws-09")]);
  assert.deepEqual(notificationRow(message({ payload: { type: "alert", alert: grouped } })), {
    id: "000001777636800000-000000-00000000",
    channel: "ops",
    state: "sent",
    created_at: "2026-05-01T12:00:00.000Z",
    updated_at: "2026-05-01T12:00:02.000Z",
    sent_at: "2026-05-01T12:00:02.000Z",
    attempts: 1,
    provider_status: 200,
    kind: "alert",
    rule: "script-down",
    severity: "critical",
    status: "firing",
    site: "BFI4",
    host: "ws-01",
    script: "rates",
    title: "rates is down on ws-01 (BFI4)",
    alert_count: 3,
  });
  const test = notificationRow(
    message({
      payload: { type: "test", text: "hello" },
      state: "failed",
      providerStatus: undefined,
    }),
  );
  assert.deepEqual(
    [test.kind, test.sent_at, test.provider_status, test.site, test.rule, test.alert_count],
    ["test", null, null, null, null, null],
  );
});

Deno.test("notifications are read a page at a time, newest first, within the window", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let now = T0;
    const outbox = new Outbox(kv, {
      channels: OPS,
      clock: { now: () => now, sleep: () => Promise.resolve() },
    });
    for (let n = 0; n < 450; n++) {
      const site = n % 2 === 0 ? "BFI4" : "SEA8";
      await outbox.enqueue({
        channel: "ops",
        dedupeKey: `m${n}`,
        payload: { type: "alert", alert: alert(site, `ws-${n}`) },
      });
      now += 1000;
    }
    const source = exportSource(new Store(kv));
    const rows = await allRows(NOTIFICATIONS, source, { since: T0 + 10_000, until: T0 + 440_000 });
    assert.equal(rows.length, 430);
    assert.deepEqual([rows[0].host, rows.at(-1)!.host], ["ws-439", "ws-10"]);
    assert.equal(new Set(rows.map((r) => r.id)).size, 430, "no message twice across pages");
  } finally {
    kv.close();
  }
});

Deno.test("a caller of some sites gets a grouped message led by its own alerts", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const outbox = new Outbox(kv, { channels: OPS });
    const grouped = alert("SEA8", "ws-09", [alert("BFI4", "ws-01"), alert("BFI4", "ws-02")]);
    await outbox.enqueue({
      channel: "ops",
      dedupeKey: "g",
      payload: { type: "alert", alert: grouped },
    });
    await outbox.enqueue({
      channel: "ops",
      dedupeKey: "s",
      payload: { type: "alert", alert: alert("SEA8") },
    });
    await outbox.enqueue({ channel: "ops", dedupeKey: "t", payload: { type: "test", text: "hi" } });
    const source = exportSource(new Store(kv));
    const window = { since: Date.now() - 60_000, until: Date.now() + 60_000 };
    const all = await allRows(NOTIFICATIONS, source, window);
    assert.deepEqual(all.map((r) => [r.kind, r.site, r.alert_count]), [
      ["test", null, null],
      ["alert", "SEA8", 1],
      ["alert", "SEA8", 3],
    ]);
    const bfi4 = await allRows(NOTIFICATIONS, source, { ...window, sites: ["BFI4"] });
    assert.deepEqual(bfi4.map((r) => [r.site, r.host, r.alert_count]), [["BFI4", "ws-01", 2]]);
  } finally {
    kv.close();
  }
});

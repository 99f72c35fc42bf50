import assert from "node:assert/strict";
import { ingestRequest, script } from "../_testing.ts";
import { Store } from "../store/store.ts";
import type { Payload } from "../../shared/notify/types.ts";
import { buildDigest, type Digest, digestText } from "./digest.ts";
import {
  lastPeriod,
  ReportSchedule,
  type ResolvedReport,
  resolveReports,
} from "./report_schedule.ts";

const LA = "America/Los_Angeles";
const daily: ResolvedReport = resolveReports([{ site: "BFI4", every: "day", webhooks: ["ops"] }], {
  defaultTimezone: LA,
})[0];
const iso = (at: number) => new Date(at).toISOString();

Deno.test("a daily report covers the day up to its time; a weekly one ends on Mondays; DST is local", () => {
  // 07:00:30 in Los Angeles on Monday 2026-12-07 (UTC−8).
  const morning = Date.parse("2026-12-07T15:00:30Z");
  assert.deepEqual(
    [lastPeriod(daily, morning).since, lastPeriod(daily, morning).until].map(iso),
    ["2026-12-06T15:00:00.000Z", "2026-12-07T15:00:00.000Z"],
  );
  // A minute before seven: still the day before's.
  assert.equal(iso(lastPeriod(daily, morning - 90_000).until), "2026-12-06T15:00:00.000Z");
  const weekly = { ...daily, every: "week" as const };
  // Thursday: the week that ended on Monday 07:00.
  assert.deepEqual(
    Object.values(lastPeriod(weekly, Date.parse("2026-12-10T20:00:00Z"))).map(iso),
    ["2026-11-30T15:00:00.000Z", "2026-12-07T15:00:00.000Z"],
  );
  // The spring-forward day is 23 hours long, from 07:00 to 07:00 local.
  const spring = lastPeriod(daily, Date.parse("2026-03-08T14:30:00Z"));
  assert.equal(spring.until - spring.since, 23 * 3_600_000);
  assert.equal(iso(spring.until), "2026-03-08T14:00:00.000Z");
});

const DIGEST: Digest = {
  site: "BFI4",
  since: Date.parse("2026-12-06T15:00:00Z"),
  until: Date.parse("2026-12-07T15:00:00Z"),
  scripts: [
    { site: "BFI4", host: "ws-07", script: "rates", uptime: 0.9, upMs: 9, downMs: 1, restarts: 4 },
    { site: "BFI4", host: "ws-07", script: "tokens", uptime: 1, upMs: 10, downMs: 0, restarts: 0 },
  ],
  incidents: [{
    rule: "crash-looping",
    severity: "critical",
    title: "rates is crash-looping on ws-07 (BFI4)",
    site: "BFI4",
    host: "ws-07",
    script: "rates",
    firedAt: "2026-12-07T01:00:00.000Z",
    resolvedAt: "2026-12-07T01:20:00.000Z",
    durationMs: 20 * 60_000,
  }],
  anomalies: [],
  tokens: [{ site: "BFI4", host: "ws-07", name: "midway", state: "expiring", expiresAt: null }],
  notifications: { sent: 12, failed: 1, silenced: 2 },
};

Deno.test("a due report is queued once per webhook and period, never twice, and not when stale", async () => {
  const queued: { channel: string; dedupeKey: string; payload: Payload }[] = [];
  const schedule = new ReportSchedule({
    reports: () => [{ ...daily, webhooks: ["ops", "mail"] }],
    digest: (options) => {
      assert.deepEqual(options, { site: "BFI4", since: DIGEST.since, until: DIGEST.until });
      return Promise.resolve(DIGEST);
    },
    enqueue: (message) => Promise.resolve(queued.push(message)),
  });
  await schedule.pass(DIGEST.until + 30_000);
  await schedule.pass(DIGEST.until + 90_000);
  assert.deepEqual(queued.map((m) => [m.channel, m.dedupeKey]), [
    ["ops", `report|BFI4-day|${DIGEST.until}|ops`],
    ["mail", `report|BFI4-day|${DIGEST.until}|mail`],
  ]);
  const payload = queued[0].payload;
  assert.equal(payload.type, "alert");
  if (payload.type !== "alert") return;
  assert.equal(payload.alert.title, "Daily report, BFI4, to 2026-12-07");
  assert.equal(
    payload.alert.text,
    [
      "Uptime 95 % over 2 scripts; 4 restarts; 1 incident; 0 anomalies.",
      "Lowest uptime:",
      "- rates on ws-07 (BFI4): 90 %, down 1ms, 4 restarts",
      "Longest incidents:",
      "- rates is crash-looping on ws-07 (BFI4): 20m",
      "Tokens:",
      "- midway on ws-07 (BFI4): expiring",
      "Notifications: 12 sent, 1 failed, 2 silenced.",
    ].join("\n"),
  );
  // A collector that comes back two hours after the period ended does not send it late.
  const late = new ReportSchedule({
    reports: () => [daily],
    digest: () => Promise.resolve(DIGEST),
    enqueue: () => Promise.reject(new Error("must not send")),
  });
  await late.pass(DIGEST.until + 2 * 3_600_000);
});

Deno.test("buildDigest() reads uptime, incidents with durations and tokens from the store", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const now = Date.parse("2026-12-07T15:00:00Z");
    await store.ingest(
      ingestRequest({ scripts: [script("rates", { restarts: 2 })], now: iso(now - 3_600_000) }),
      { now: now - 3_600_000, tokenName: "ws-01" },
    );
    await store.alerts.open({
      rule: "script-down",
      key: "script-down|BFI4|ws-01|rates|",
      severity: "critical",
      site: "BFI4",
      host: "ws-01",
      script: "rates",
      check: null,
      title: "rates is down on ws-01 (BFI4)",
      firedAt: iso(now - 50 * 60_000),
    });
    await store.alerts.resolve("script-down|BFI4|ws-01|rates|", iso(now - 30 * 60_000));
    const digest = await buildDigest({ store }, {
      site: "BFI4",
      since: now - 86_400_000,
      until: now,
    });
    assert.deepEqual(digest.scripts.map((s) => [s.host, s.script]), [["ws-01", "rates"]]);
    assert.deepEqual(
      digest.incidents.map((i) => [i.title, i.durationMs]),
      [["rates is down on ws-01 (BFI4)", 20 * 60_000]],
    );
    assert.deepEqual(digest.notifications, { sent: 0, failed: 0, silenced: 0 });
    assert.equal(digestText(digest, { title: "t" }).split("\n")[0], "t");
  } finally {
    kv.close();
  }
});

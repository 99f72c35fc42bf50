import assert from "node:assert/strict";
import type { NewAlert } from "../store/alerts.ts";
import { allRows, withSource } from "./_testing.ts";
import { incidentRow, INCIDENTS } from "./incidents.ts";

const T0 = Date.parse("2026-05-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function alert(site: string, firedAt: number, script: string | null = "rates"): NewAlert {
  return {
    rule: "script-down",
    key: `script-down|${site}|ws-01|${script}|`,
    severity: "critical",
    site,
    host: "ws-01",
    script,
    check: null,
    title: `rates is down on ws-01 (${site})`,
    firedAt: iso(firedAt),
  };
}

Deno.test("incidentRow() gives an alert's episode with its duration once resolved", () => {
  const record = {
    ...alert("BFI4", T0),
    id: "alert-1",
    resolvedAt: iso(T0 + 90_500),
    acknowledgedBy: "user:ann",
    acknowledgedAt: iso(T0 + 60_000),
  };
  assert.deepEqual(incidentRow(record), {
    id: "alert-1",
    site: "BFI4",
    host: "ws-01",
    script: "rates",
    check_name: null,
    rule: "script-down",
    severity: "critical",
    title: "rates is down on ws-01 (BFI4)",
    started_at: "2026-05-01T12:00:00.000Z",
    resolved_at: "2026-05-01T12:01:30.500Z",
    duration_seconds: 90.5,
    acknowledged_by: "user:ann",
    acknowledged_at: "2026-05-01T12:01:00.000Z",
  });
  const firing = incidentRow({ ...record, resolvedAt: null });
  assert.deepEqual([firing.resolved_at, firing.duration_seconds], [null, null]);
});

Deno.test("incidents are those that started in the window, of the caller's sites", async () => {
  await withSource(async (source) => {
    const alerts = source.store.alerts;
    await alerts.open(alert("BFI4", T0 - 1));
    const first = await alerts.open(alert("BFI4", T0, "sync"));
    await alerts.resolve(first.key, iso(T0 + 60_000));
    await alerts.open(alert("SEA8", T0 + 1000));
    await alerts.open(alert("BFI4", T0 + 3_600_000, null));
    const window = { since: T0, until: T0 + 3_600_000 };
    const rows = await allRows(INCIDENTS, source, window);
    assert.deepEqual(rows.map((r) => [r.site, r.script, r.duration_seconds]), [
      ["BFI4", "sync", 60],
      ["SEA8", "rates", null],
    ]);
    const bfi4 = await allRows(INCIDENTS, source, { ...window, sites: ["BFI4"] });
    assert.deepEqual(bfi4.map((r) => r.id), [first.id]);
  });
});

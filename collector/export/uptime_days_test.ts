import assert from "node:assert/strict";
import type { Row } from "./dataset.ts";
import { allRows, withSource } from "./_testing.ts";
import { UPTIME_DAYS, uptimeDayRow } from "./uptime_days.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MAY1 = Date.parse("2026-05-01T00:00:00Z");

function rollup(day: number, upMs = 18 * HOUR, downMs = 6 * HOUR) {
  return { day, upMs, downMs, idleMs: 0, unknownMs: DAY - upMs - downMs, restarts: 2 };
}

Deno.test("uptimeDayRow() gives the UTC day, seconds per bucket and up / (up + down)", () => {
  const id = { site: "BFI4", host: "ws-01", script: "rates" };
  assert.deepEqual(uptimeDayRow(id, { ...rollup(MAY1), idleMs: 1500, unknownMs: 0 }), {
    site: "BFI4",
    host: "ws-01",
    script: "rates",
    day: "2026-05-01",
    up_seconds: 64_800,
    down_seconds: 21_600,
    idle_seconds: 1.5,
    unknown_seconds: 0,
    uptime_ratio: 0.75,
    restarts: 2,
  });
  const idle = uptimeDayRow(id, { ...rollup(MAY1, 0, 0), idleMs: DAY });
  assert.equal(idle.uptime_ratio, null, "neither up nor down: no ratio");
});

Deno.test("uptime_days has the days that overlap the window, of the caller's sites only", async () => {
  await withSource(async (source) => {
    const history = source.store.history;
    for (const day of [MAY1 - DAY, MAY1, MAY1 + DAY, MAY1 + 2 * DAY]) {
      await history.saveRollup("BFI4", "ws-01", "rates", rollup(day));
      await history.saveRollup("SEA8", "ws-02", "sync", rollup(day));
    }
    const days = (rows: Row[]) => rows.map((r) => `${r.site} ${r.day}`);
    // From noon on May 1 to the start of May 3: May 1 (half in it) and May 2.
    const window = { since: MAY1 + 12 * HOUR, until: MAY1 + 2 * DAY };
    assert.deepEqual(days(await allRows(UPTIME_DAYS, source, window)), [
      "BFI4 2026-05-01",
      "BFI4 2026-05-02",
      "SEA8 2026-05-01",
      "SEA8 2026-05-02",
    ]);
    assert.deepEqual(days(await allRows(UPTIME_DAYS, source, { ...window, sites: ["SEA8"] })), [
      "SEA8 2026-05-01",
      "SEA8 2026-05-02",
    ]);
    assert.deepEqual(await allRows(UPTIME_DAYS, source, { ...window, sites: [] }), []);
  });
});

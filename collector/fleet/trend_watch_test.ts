import assert from "node:assert/strict";
import type { ScriptSummary } from "../../shared/protocol.ts";
import type { AgentRecord, AgentScripts } from "../store/types.ts";
import { TREND_EVERY_MS, TrendWatch } from "./trend_watch.ts";

const H = 3_600_000;
/** Monday 2026-10-05 00:00 UTC. */
const START = Date.parse("2026-10-05T00:00:00Z");

/** One agent at BFI4 whose script `rates` reports `posted`, `restarts` and memory. */
class Fleet {
  posted = 0;
  restarts = 0;
  rssBytes = 100_000_000;
  anomalies: false | undefined = undefined;
  online = true;
  /** A scheduled script's last run: when it ended and how long it took. */
  lastRun: { at: number; runtimeMs: number } | null = null;
  listScripts = (): Promise<AgentScripts[]> => {
    const summary: ScriptSummary = {
      name: "rates",
      state: "running",
      health: "healthy",
      enabled: true,
      pid: 4242,
      uptimeMs: 1000,
      restarts: this.restarts,
      rssBytes: this.rssBytes,
      cpuPercent: 1,
      lastExit: this.lastRun === null ? null : {
        at: new Date(this.lastRun.at).toISOString(),
        code: 0,
        signal: null,
        runtimeMs: this.lastRun.runtimeMs,
      },
      ...(this.lastRun === null ? {} : { schedule: "0 7 * * *" }),
      checks: [],
      reason: null,
      posted: this.posted,
      ...(this.anomalies === false ? { anomalies: false as const } : {}),
    };
    const agent = { site: "BFI4", host: "ws-07", online: this.online } as AgentRecord;
    return Promise.resolve([{ agent, scripts: [summary] }]);
  };
}

/** Business hours (Mon–Fri 08–18 UTC) post 3 a look (18 an hour); the rest of the week nothing. */
function busy(at: number): boolean {
  const date = new Date(at);
  const day = date.getUTCDay();
  return day >= 1 && day <= 5 && date.getUTCHours() >= 8 && date.getUTCHours() < 18;
}

/** Runs the watch every 10 minutes from `from` to `to`, the fleet posting as `posts` says. */
async function run(
  watch: TrendWatch,
  fleet: Fleet,
  from: number,
  to: number,
  posts: (at: number) => number,
): Promise<number> {
  let at = from;
  for (; at < to; at += TREND_EVERY_MS) {
    fleet.posted += posts(at);
    await watch.pass(at);
  }
  return at;
}

async function withWatch(fn: (watch: TrendWatch, fleet: Fleet) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    const fleet = new Fleet();
    await fn(new TrendWatch(kv, fleet, { timezone: "UTC" }), fleet);
  } finally {
    kv.close();
  }
}

const checksOf = async (watch: TrendWatch, now: number) =>
  (await watch.conditions(now)).map((c) => c.alert.check);

Deno.test("a script that usually posts and falls silent raises an anomaly that says why, and clears", async () => {
  await withWatch(async (watch, fleet) => {
    const usual = (at: number) => busy(at) ? 3 : 0;
    // Five weeks of history; nothing is unusual meanwhile.
    let at = await run(watch, fleet, START, START + 5 * 7 * 24 * H, usual);
    assert.deepEqual(await checksOf(watch, at), []);
    // Monday of week six, 10:00: it stops posting.
    at = await run(watch, fleet, at, at + 10 * H, usual);
    const silentFrom = at;
    for (; at < silentFrom + 3 * H; at += TREND_EVERY_MS) {
      await watch.pass(at);
      if ((await checksOf(watch, at)).includes("silence")) break;
    }
    const [condition] = await watch.conditions(at);
    assert.equal(condition?.alert.check, "silence", "caught within 3 hours");
    assert.equal(condition.alert.rule, "anomaly");
    assert.equal(condition.alert.severity, "warning");
    assert.match(
      condition.alert.text,
      /^rates posted 0 messages in \d+ (min|h); usually \d+ ± \d+ on Mondays at \d\d:\d\d\.$/,
    );
    // It posts again: the next look clears it.
    fleet.posted += 3;
    await watch.pass(at + TREND_EVERY_MS);
    assert.deepEqual(await checksOf(watch, at + TREND_EVERY_MS), []);
  });
});

Deno.test("a burst of restarts is an anomaly once its hour ends; anomalies = false turns it off", async () => {
  await withWatch(async (watch, fleet) => {
    let at = await run(watch, fleet, START, START + 5 * 7 * 24 * H, () => 0);
    // 30 restarts in the hour before Monday 00:00, judged when the hour has ended.
    fleet.restarts += 30;
    at = await run(watch, fleet, at, at + TREND_EVERY_MS, () => 0);
    const [condition] = await watch.conditions(at);
    assert.equal(condition?.alert.check, "restarts");
    assert.equal(
      condition.alert.text,
      "rates restarted 30 times in 1 h; usually 0 ± 0 on Sundays at 23:00.",
    );
    // A quiet hour after it clears it; turned off, none is raised.
    at = await run(watch, fleet, at, at + H, () => 0);
    assert.deepEqual(await watch.conditions(at), []);
    fleet.anomalies = false;
    fleet.restarts += 30;
    at = await run(watch, fleet, at, at + H, () => 0);
    assert.deepEqual(await watch.conditions(at), []);
  });
});

Deno.test("nothing is unusual before four weeks of history, and a new watch reads the anomalies back", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const fleet = new Fleet();
    const watch = new TrendWatch(kv, fleet, { timezone: "UTC" });
    let at = await run(watch, fleet, START, START + 3 * 7 * 24 * H, () => 0);
    fleet.restarts += 30;
    at = await run(watch, fleet, at, at + TREND_EVERY_MS, () => 0);
    assert.deepEqual(await watch.conditions(at), [], "three weeks are not enough");
    at = await run(watch, fleet, at, at + 3 * 7 * 24 * H, () => 0);
    fleet.restarts += 30;
    at = await run(watch, fleet, at, at + H, () => 0);
    assert.equal((await watch.conditions(at)).length, 1);
    const restarted = new TrendWatch(kv, fleet, { timezone: "UTC" });
    assert.deepEqual(
      (await restarted.conditions(at)).map((c) => c.key),
      ["anomaly|BFI4|ws-07|rates|restarts"],
    );
  } finally {
    kv.close();
  }
});

Deno.test("a scheduled run far longer than usual for its hour is an anomaly when it ends", async () => {
  await withWatch(async (watch, fleet) => {
    // Every day at 07:00 a run of about 3 minutes.
    const runs = (at: number) => {
      const date = new Date(at);
      if (date.getUTCHours() === 7 && date.getUTCMinutes() === 10) {
        fleet.lastRun = { at, runtimeMs: 180_000 + (date.getUTCDate() % 3) * 10_000 };
      }
      return 0;
    };
    let at = await run(watch, fleet, START, START + 5 * 7 * 24 * H, runs);
    assert.deepEqual(await watch.conditions(at), []);
    at = await run(watch, fleet, at, at + 7 * H, runs);
    // Monday of week six: the run ends at 07:30 after 25 minutes.
    fleet.lastRun = { at: at + 30 * 60_000, runtimeMs: 25 * 60_000 };
    await watch.pass(at + 40 * 60_000);
    const [condition] = await watch.conditions(at);
    assert.equal(condition?.alert.check, "duration");
    assert.match(
      condition.alert.text,
      /^rates ran for 25m; usually 3m( \d+s)? ± [\d.]+s on Mondays at 07:00\.$/,
    );
  });
});

Deno.test("outside its active hours, stopped or disabled, a script is not judged and its hours teach nothing", async () => {
  await withWatch(async (watch, fleet) => {
    const usual = (at: number) => busy(at) ? 3 : 0;
    let at = await run(watch, fleet, START, START + 5 * 7 * 24 * H, usual);
    at = await run(watch, fleet, at, at + 10 * H, usual);
    // A holiday: the agent says it is outside its active hours with off_hours = "run".
    const off = new Fleet();
    Object.assign(off, fleet);
    const summaries = fleet.listScripts;
    fleet.listScripts = async () => {
      const [entry] = await summaries();
      return [{
        ...entry,
        scripts: entry.scripts.map((s) => ({ ...s, offHours: "run" as const })),
      }];
    };
    at = await run(watch, fleet, at, at + 4 * H, () => 0);
    assert.deepEqual(await watch.conditions(at), [], "no silence alert outside active hours");
    fleet.listScripts = summaries;
    await watch.pass(at);
    assert.deepEqual(await watch.conditions(at), [], "silence counts from when it runs again");
  });
});

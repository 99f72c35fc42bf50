import assert from "node:assert/strict";
import { join } from "node:path";
import { denoFixture, nextEvent, tempDir, testScript } from "../../tests/_helpers.ts";
import { FakeClock } from "../../shared/notify/_outbox_testing.ts";
import { Calendar, parseSpans } from "../../shared/calendar/mod.ts";
import { parseConfig } from "../config/mod.ts";
import type { ResolvedActive, ResolvedScript } from "../../shared/agent_config/types.ts";
import { openKv, STORE_FILE } from "../kv.ts";
import { platform } from "../platform/mod.ts";
import { EventLog } from "./event_log.ts";
import { ScriptRunner } from "./script_runner.ts";
import { Supervisor } from "./supervisor.ts";

const DAY_SHIFT = new Calendar({
  name: "day_shift",
  timezone: "Europe/Berlin",
  spans: [parseSpans("Mon-Fri 06:00-18:00")],
  holidays: ["2026-12-25"],
});
/** Monday 2026-12-07, 17:59 in Berlin (UTC+1). */
const MONDAY_1759 = Date.parse("2026-12-07T16:59:00Z");

function activeScript(offHours: ResolvedActive["offHours"] = "stop"): ResolvedScript {
  return testScript("rates", denoFixture("print_hang.ts", "1"), {
    active: { calendar: DAY_SHIFT, offHours, relaxFactor: 4 },
  });
}

async function harness(start: number) {
  const dir = await tempDir();
  const kv = await openKv(join(dir.path, STORE_FILE));
  const events = await EventLog.open(kv);
  const clock = new FakeClock(start);
  const pidDir = join(dir.path, "pids");
  await Deno.mkdir(pidDir, { recursive: true });
  const supervisor = new Supervisor({
    platform,
    events,
    clock,
    pidDir,
    logDir: join(dir.path, "logs"),
  });
  const config = parseConfig("", { path: join(dir.path, "scriptmon.toml"), vars: {} });
  return {
    supervisor,
    events,
    clock,
    status: () => supervisor.statusOf("rates"),
    apply: (scripts: Record<string, ResolvedScript>) => supervisor.apply({ ...config, scripts }),
    async [Symbol.asyncDispose]() {
      await supervisor.shutdown();
      await events.flush();
      kv.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

const stateOf = (state: string) => (e: { kind: string; script?: string; state?: string }) =>
  e.kind === "state" && e.script === "rates" && e.state === state;

Deno.test("a script with active hours stops when its calendar closes and starts when it opens", async () => {
  await using h = await harness(MONDAY_1759);
  const running = nextEvent(h.events, stateOf("running"));
  await h.apply({ rates: activeScript() });
  await running;
  const stopped = nextEvent(h.events, stateOf("stopped"));
  h.clock.set(MONDAY_1759 + 60_000); // 18:00
  assert.equal((await stopped).reason, "outside its active hours (day_shift opens Tue 06:00)");
  assert.equal(h.status().offHours, "stop");
  const again = nextEvent(h.events, stateOf("running"));
  h.clock.set(Date.parse("2026-12-08T05:00:00Z")); // Tuesday 06:00
  await again;
  assert.equal(h.status().offHours, undefined);
});

Deno.test("outside its active hours a script does not start, whoever asks; a stop by hand stays", async () => {
  // Christmas Day, a Friday, 10:00: a holiday of the calendar.
  await using h = await harness(Date.parse("2026-12-25T09:00:00Z"));
  const other = { ...activeScript(), name: "other" };
  await h.apply({ rates: activeScript(), other });
  assert.equal(h.status().state, "stopped");
  assert.equal(h.status().reason, "outside its active hours (day_shift opens Mon 06:00)");
  await h.supervisor.get("rates").start();
  assert.equal(h.status().state, "stopped", "start is refused outside the hours");
  // Monday 06:00 both start; "rates" stopped by hand that day stays stopped at the next opening.
  const running = nextEvent(h.events, stateOf("running"));
  h.clock.set(Date.parse("2026-12-28T05:00:00Z"));
  await running;
  await h.supervisor.get("rates").stop();
  const closed = nextEvent(h.events, (e) => e.script === "other" && e.state === "stopped");
  h.clock.set(Date.parse("2026-12-28T17:00:00Z"));
  await closed;
  const otherBack = nextEvent(h.events, (e) => e.script === "other" && e.state === "running");
  h.clock.set(Date.parse("2026-12-29T05:00:00Z"));
  await otherBack;
  assert.equal(h.status().state, "stopped");
  assert.equal(h.status().reason, "stopped by request");
});

Deno.test('off_hours = "relax" and "run" keep the script running and say so in status', async () => {
  for (const offHours of ["relax", "run"] as const) {
    await using h = await harness(Date.parse("2026-12-26T09:00:00Z")); // Saturday
    const running = nextEvent(h.events, stateOf("running"));
    await h.apply({ rates: activeScript(offHours) });
    await running;
    assert.equal(h.status().offHours, offHours);
  }
});

Deno.test("a scheduled script with skip_on holidays skips the run of a holiday, and runs the next day", async () => {
  const dir = await tempDir();
  const kv = await openKv(join(dir.path, STORE_FILE));
  const events = await EventLog.open(kv);
  // Christmas Eve 23:00 in Berlin.
  const clock = new FakeClock(Date.parse("2026-12-24T22:00:00Z"));
  await Deno.mkdir(join(dir.path, "pids"));
  const runner = new ScriptRunner(
    testScript("report", denoFixture("exit_after.ts", "0", "0"), {
      schedule: { cron: "0 7 * * *", timezone: "Europe/Berlin" },
      skipHolidays: DAY_SHIFT,
    }),
    { platform, events, clock, pidDir: join(dir.path, "pids"), logDir: join(dir.path, "logs") },
  );
  try {
    const waiting = nextEvent(events, (e) => e.kind === "state" && e.state === "scheduled");
    await runner.start();
    await waiting;
    const skipped = nextEvent(events, (e) => e.kind === "state" && /^skipped/.test(e.reason ?? ""));
    clock.set(Date.parse("2026-12-25T06:00:00Z")); // 07:00 on Christmas Day
    assert.equal(
      (await skipped).reason,
      "skipped its run of 2026-12-25: a holiday of the day_shift calendar",
    );
    assert.equal(runner.status().lastExit, null, "no run on the holiday");
    const ran = nextEvent(events, (e) => e.kind === "state" && e.state === "running");
    clock.set(Date.parse("2026-12-26T06:00:00Z")); // 07:00 the next day
    await ran;
  } finally {
    await runner.dispose();
    await events.flush();
    kv.close();
    await dir[Symbol.asyncDispose]();
  }
});

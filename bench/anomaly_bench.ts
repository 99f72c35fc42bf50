/**
 * The trend detector at its defaults (issue 18), on simulated scripts:
 *
 * 1. False alarms. `BENCH_SCRIPTS` scripts (default 200, an equal share per
 *    posting shape: steady busy, bursty, quiet nights, every 15 min, low
 *    volume; see `collector/trends/synthetic.ts`) run for `BENCH_WEEKS` weeks
 *    (default 12) in Europe/Berlin, across the spring daylight-saving change,
 *    with nothing wrong. The collector's checks run as `simulate()` runs
 *    them: messages every 10 minutes since the last post (falling silent) and
 *    each whole hour (a drop); restarts (a Poisson stream at 0.01–0.2 an hour)
 *    and memory (a daily curve with 3 % noise) each whole hour. Every alert
 *    raised once the first {@linkcode MIN_WEEKS} weeks of history are in is a
 *    false alarm; the bar is under one per script-week.
 * 2. Catching silence. `BENCH_TRIALS` times per script (default 5), the
 *    script falls silent at a random moment of the week after its run and
 *    the same checks run until one fires (at most 4 days): minutes from
 *    falling silent to the alert, median and 95th percentile, for every onset and
 *    for onsets in an hour the script usually posts at least 10 messages.
 *
 * Deterministic in `BENCH_SEED` (default 1). Prints two markdown tables.
 * Run: `deno run -A bench/anomaly_bench.ts` (about 20 seconds).
 */
import {
  addHour,
  type Baseline,
  createBaseline,
  detect,
  dispersion,
  localHour,
  MIN_WEEKS,
  mix,
  normal,
  poisson,
  seeded,
  type Shape,
  SHAPES,
  simulate,
} from "../collector/trends/mod.ts";

const SCRIPTS = Number(Deno.env.get("BENCH_SCRIPTS") ?? 200);
const WEEKS = Number(Deno.env.get("BENCH_WEEKS") ?? 12);
const TRIALS = Number(Deno.env.get("BENCH_TRIALS") ?? 5);
const SEED = Number(Deno.env.get("BENCH_SEED") ?? 1);
const TIMEZONE = "Europe/Berlin";
/** Monday 2026-01-12 00:00 in Berlin; twelve weeks later is past the change to summer time. */
const START = Date.UTC(2026, 0, 11, 23);
const HOUR = 3_600_000;
const WEEK = 168 * HOUR;
const TRIAL_HOURS = 96;
const RESTART_RATES = [0.01, 0.05, 0.2];

interface Tally {
  scriptWeeks: number;
  silence: number;
  drop: number;
  restarts: number;
  memory: number;
  catches: number[];
  busyCatches: number[];
  missed: number;
  examples: string[];
}

/** Restarts and memory, hour by hour, with nothing wrong: the alerts raised from `alertFrom`. */
function hourlyAlarms(seed: number, alertFrom: number, tally: Tally): void {
  const random = seeded(mix(seed, 7));
  const restartRate = RESTART_RATES[seed % RESTART_RATES.length];
  const base = 100e6 + random() * 300e6;
  const restarts = createBaseline({ metric: "restarts", timezone: TIMEZONE });
  const memory = createBaseline({ metric: "memory", timezone: TIMEZONE });
  const raised = { restarts: false, memory: false };
  let restartDispersion = 1;
  for (let at = START; at < START + WEEKS * WEEK; at += HOUR) {
    const { hour } = localHour(TIMEZONE, at);
    const busy = hour % 24 >= 6 && hour % 24 < 22 ? 1.2 : 1;
    const values = {
      restarts: poisson(random, restartRate),
      memory: base * busy * (1 + 0.03 * normal(random)),
    };
    for (const [name, baseline] of [["restarts", restarts], ["memory", memory]] as const) {
      const options = name === "restarts" ? { dispersion: restartDispersion } : {};
      const found = detect(baseline, { from: at, to: at + HOUR, value: values[name] }, options);
      const fires = found.anomaly && at >= alertFrom;
      if (fires && !raised[name]) {
        tally[name] += 1;
        if (tally.examples.length < 3) tally.examples.push(found.message);
      }
      raised[name] = fires;
      addHour(baseline, at, values[name]);
    }
    if (hour % 24 === 23) restartDispersion = dispersion(restarts);
  }
}

/** Minutes from `onset` (the script falls silent) to the first alert, or null within 4 days. */
function catchSilence(shape: Shape, seed: number, history: Baseline, onset: number): number | null {
  const from = onset - 3 * HOUR;
  const alerts = simulate({
    baseline: structuredClone(history),
    shape,
    seed,
    from,
    to: onset + TRIAL_HOURS * HOUR,
    silentFrom: onset,
    alertFrom: onset,
  });
  if (alerts.length === 0) return null;
  return (alerts[0].at - onset) / 60_000;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const started = performance.now();
const classes = Object.values(SHAPES);
const tallies = new Map<Shape, Tally>();
for (let script = 0; script < SCRIPTS; script++) {
  const shape = classes[script % classes.length];
  const tally = tallies.get(shape) ?? {
    scriptWeeks: 0,
    silence: 0,
    drop: 0,
    restarts: 0,
    memory: 0,
    catches: [],
    busyCatches: [],
    missed: 0,
    examples: [],
  };
  tallies.set(shape, tally);
  const seed = mix(SEED, script);
  const alertFrom = START + MIN_WEEKS * WEEK;
  const baseline = createBaseline({ metric: "messages", timezone: TIMEZONE });
  const end = START + WEEKS * WEEK;
  for (const alert of simulate({ baseline, shape, seed, from: START, to: end, alertFrom })) {
    tally[alert.rule === "silence" ? "silence" : "drop"] += 1;
    if (tally.examples.length < 3) tally.examples.push(alert.detection.message);
  }
  hourlyAlarms(seed, alertFrom, tally);
  tally.scriptWeeks += WEEKS - MIN_WEEKS;
  const random = seeded(mix(seed, 13));
  for (let trial = 0; trial < TRIALS; trial++) {
    const onset = end + Math.floor(random() * WEEK);
    const local = localHour(TIMEZONE, onset);
    const minutes = catchSilence(shape, mix(seed, 17, trial), baseline, onset);
    if (minutes === null) {
      tally.missed += 1;
      continue;
    }
    tally.catches.push(minutes);
    if (shape.rate(Math.floor(local.hour / 24), local.hour % 24) >= 10) {
      tally.busyCatches.push(minutes);
    }
  }
}

const rate = (count: number, weeks: number) => (count / weeks).toFixed(3);
const minutes = (value: number | null) => (value === null ? "-" : String(Math.round(value)));
console.log(
  `Trend detector at its defaults: ${SCRIPTS} scripts, ${WEEKS} weeks (alerts counted after week ${MIN_WEEKS}), seed ${SEED}, ${TIMEZONE}\n`,
);
console.log(
  "| shape | script-weeks | silence | hourly drop | restarts | memory | false alarms per script-week |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
let allWeeks = 0;
let allAlarms = 0;
for (const [shape, t] of tallies) {
  const alarms = t.silence + t.drop + t.restarts + t.memory;
  allWeeks += t.scriptWeeks;
  allAlarms += alarms;
  console.log(
    `| ${shape.name} | ${t.scriptWeeks} | ${t.silence} | ${t.drop} | ${t.restarts} | ${t.memory} | ${
      rate(alarms, t.scriptWeeks)
    } |`,
  );
}
console.log(`| all | ${allWeeks} | | | | | ${rate(allAlarms, allWeeks)} (bar: under 1) |\n`);

console.log(
  "| shape | trials | silence caught, median min | p95 min | onsets in a busy hour | median min | p95 min | not caught in 4 d |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const [shape, t] of tallies) {
  const all = [...t.catches].sort((a, b) => a - b);
  const busy = [...t.busyCatches].sort((a, b) => a - b);
  console.log(
    `| ${shape.name} | ${all.length + t.missed} | ${minutes(percentile(all, 50))} | ${
      minutes(percentile(all, 95))
    } | ${busy.length} | ${minutes(percentile(busy, 50))} | ${
      minutes(percentile(busy, 95))
    } | ${t.missed} |`,
  );
}
const examples = [...tallies.values()].flatMap((t) => t.examples).slice(0, 5);
if (examples.length > 0) {
  console.log(`\nSome false alarms:\n${examples.map((e) => `- ${e}`).join("\n")}`);
}
console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s`);

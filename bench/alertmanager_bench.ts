/**
 * `deno task bench:alertmanager`: the collector beside Prometheus Alertmanager 0.25 under the same
 * fleet's load (issue 20), one table with the ratios and the issue's bars.
 *
 * The fleet: 1,000 workstations at 20 sites, 10 scripts each; one request per workstation per
 * tick with its 10 scripts' states and 1–2 events. To the collector it is the ingest an agent
 * sends (`sampleIngest`, with an agent token created in the store beforehand); to Alertmanager,
 * `POST /api/v2/alerts` with one alert per script, labelled alertname, site, host, script, state
 * and health, the rest of the script's summary as annotations and the events on their script's
 * alert.
 *
 * Each server runs in its own processes, started by the bench on loopback ports with a temporary
 * folder: the collector as `deno task collector serve` runs it, on its KV file; two collector
 * replicas on one PostgreSQL database (a private cluster, durable: `fsync` and synchronous
 * commits on; each workstation reports to one replica, as a load balancer would send it); and
 * Alertmanager from Debian's `prometheus-alertmanager`, a null receiver, no clustering. This
 * process is the load generator, so the server's CPU (`/proc/<pid>/stat` of its processes, and
 * of the database's postmaster and backends) is its own.
 *
 * First the rounds side by side: `BENCH_PAIRS` rounds in which each server is started, warmed up,
 * given the closed loop below, the pause and then 500 requests/s for `BENCH_PAIR_STEADY_SECONDS`
 * (60), and stopped; Alertmanager between ours (KV, Alertmanager, PostgreSQL; the next round the
 * other way round), so that each of our servers has Alertmanager's within about a minute of it.
 * The machine's speed drifts by a third from minute to minute (bench/README.md), and the whole
 * runs below are minutes apart: the bars of throughput and CPU per request are judged on the
 * median of the rounds' ratios (the whole runs' medians are printed beside them for reference).
 *
 * Then the whole runs. Per server, in order:
 *
 * - a warm-up, then a closed loop of 50 requests in flight: requests and script states a second,
 *   latency, the server's CPU per request (and by thread), its peak RSS (VmHWM) so far;
 * - no requests for 30 s: the CPU of the server's own periodic work;
 * - 500 requests/s for a minute: CPU per request where both sides do the same work a second
 *   (per request it falls as the rate rises, and in the closed loop each side runs at its own);
 * - rising fixed rates of 5 s each: the highest with p99 under 100 ms and under 50 ms and no
 *   errors (they stop rising after two misses). Fixed rates are an open loop, latency counted
 *   from each request's scheduled start.
 *
 * The machine's other work (/proc/stat, less the server and this process) is shown beside each
 * run: the machine may be shared. The whole runs alternate the sides (KV, PostgreSQL,
 * Alertmanager, and again). A table per side of ours beside Alertmanager: the rounds' medians and
 * the whole runs', with the bars (RSS per process); then each round and each run beside its
 * Alertmanager. `--json` prints the rounds, the runs, the medians and the bars instead.
 *
 * `BENCH_SECONDS` (15) the closed loop, `BENCH_WARMUP_SECONDS` (3), `BENCH_IDLE_SECONDS` (30),
 * `BENCH_STEADY_RATE` (500) and `BENCH_STEADY_SECONDS` (60), `BENCH_RATE_SECONDS` (5) each fixed
 * rate, `BENCH_RATES` (requests/s, "250,500,750,1000,1250,1500,2000,2500"), `BENCH_CONCURRENCY`
 * (50), `BENCH_PAIRS` (3 rounds side by side; 0 for none), `BENCH_PAIR_STEADY_SECONDS` (60),
 * `BENCH_REPEATS` (1 whole run), `BENCH_ALERTMANAGER` (its path), `BENCH_SIDES` ("kv,pg": which
 * of ours), `BENCH_REPLICAS` (2 collectors on PostgreSQL). Exits 2 when Alertmanager, or
 * PostgreSQL for "pg", is not installed. About 26 minutes (17 of them side by side).
 *
 * @module
 */
import { formatBytes, formatDuration } from "../shared/config/mod.ts";
import { closedLoop, fixedRate, Fleet, type Phase, sleep } from "./_ingest_load.ts";
import {
  alertmanagerSide,
  collectorSide,
  postgresSide,
  SCRIPTS,
  type Server,
  type Side,
} from "./_ingest_servers.ts";
import {
  coresLine,
  count,
  median,
  ms,
  serverPeakRss,
  type Usage,
  withUsage,
} from "./_ingest_usage.ts";
import { postgresMissing } from "../tests/_postgres.ts";

/** `name` from the environment, else `fallback`: above 0 (or 0 when `zero`), at most `most`. */
function setting(name: string, fallback: number, most: number, zero = false): number {
  const text = Deno.env.get(name);
  const value = text === undefined ? fallback : Number(text);
  if (!((value > 0 || (zero && value === 0)) && value <= most)) {
    throw new RangeError(
      `Invalid ${name}: expected a number ${zero ? "from" : "above"} 0 and at most ${most}, ` +
        `got ${text}`,
    );
  }
  return value;
}

const SECONDS = setting("BENCH_SECONDS", 15, 3600);
const WARMUP_SECONDS = setting("BENCH_WARMUP_SECONDS", 3, 600);
const RATE_SECONDS = setting("BENCH_RATE_SECONDS", 5, 600);
const IDLE_SECONDS = setting("BENCH_IDLE_SECONDS", 30, 3600);
const STEADY_SECONDS = setting("BENCH_STEADY_SECONDS", 60, 3600);
/**
 * Server CPU per request is also compared at this fixed rate (requests/s), held for
 * `STEADY_SECONDS`, where both sides do the same work a second: per request it falls as the rate
 * rises (fixed costs spread thinner), in the closed loop each side runs at its own rate, and a
 * minute takes in the periodic work a 5 s step may miss or catch whole.
 */
const STEADY_RATE = setting("BENCH_STEADY_RATE", 500, 100_000);
const CONCURRENCY = Math.round(setting("BENCH_CONCURRENCY", 50, 500));
const REPEATS = Math.round(setting("BENCH_REPEATS", 1, 20));
const PAIRS = Math.round(setting("BENCH_PAIRS", 3, 20, true));
const REPLICAS = Math.max(1, Math.round(setting("BENCH_REPLICAS", 2, 8)));
const PAIR_STEADY_SECONDS = setting("BENCH_PAIR_STEADY_SECONDS", 60, 3600);
const RATES = (Deno.env.get("BENCH_RATES") ?? "250,500,750,1000,1250,1500,2000,2500")
  .split(",").map((r) => {
    const rate = Number(r);
    if (!(rate > 0 && rate <= 100_000)) {
      throw new RangeError(`Invalid BENCH_RATES: expected requests/s like "250,500", got "${r}"`);
    }
    return rate;
  });
const ALERTMANAGER = Deno.env.get("BENCH_ALERTMANAGER") ?? "/usr/bin/prometheus-alertmanager";
const WORKSTATIONS = 1000;
const SITES = 20;
/** The most requests a fixed rate keeps outstanding: beyond, the server is far behind. */
const MAX_IN_FLIGHT = 500;
/** Fixed rates stop rising after this many in a row miss p99 < 100 ms. */
const MISSES_TO_STOP = 2;

/** The closed loop's measures. */
interface ClosedLoop extends Phase, Usage {
  requestsPerSecond: number;
  statesPerSecond: number;
}

/** One fixed rate's measures. */
interface Rate extends Phase, Usage {
  rate: number;
}

/** One run of one side. */
interface Run {
  side: string;
  run: number;
  closed: ClosedLoop;
  /** No requests for `IDLE_SECONDS` after the closed loop: the server's own periodic work. */
  idle: Usage & { seconds: number };
  steady: Rate;
  rates: Rate[];
  /** The server's peak RSS until the end of the closed loop, and over the whole run. */
  rssClosedLoopBytes: number;
  rssMaxBytes: number;
}

const passes = (r: Rate, limitMs: number) => r.errors === 0 && r.p99 < limitMs;

/** `rate` requests a second for `seconds`, and where the CPU went meanwhile. */
async function measureRate(
  server: Server,
  options: { fleet: Fleet; rate: number; seconds: number; signal: AbortSignal },
): Promise<Rate> {
  const send = server.send;
  const usage = await withUsage(
    server,
    () => fixedRate({ send, maxInFlight: MAX_IN_FLIGHT, ...options }),
  );
  return { rate: options.rate, ...usage };
}

/** The rates of `RATES` in turn, until `MISSES_TO_STOP` in a row miss p99 < 100 ms. */
async function measureRates(server: Server, fleet: Fleet, signal: AbortSignal): Promise<Rate[]> {
  const rates: Rate[] = [];
  let misses = 0;
  for (const rate of RATES) {
    if (misses >= MISSES_TO_STOP) break;
    await sleep(2000, signal); // the previous phase's stragglers and deferred work settle
    const measured = await measureRate(server, { fleet, rate, seconds: RATE_SECONDS, signal });
    rates.push(measured);
    misses = passes(measured, 100) ? 0 : misses + 1;
    console.error(
      `    ${count(rate)} requests/s: p99 ${ms(measured.p99)}, ${count(measured.errors)} errors ` +
        `(${count(measured.unsent)} not sent), ${coresLine(measured)}`,
    );
  }
  return rates;
}

/** `side` started in a temporary folder for `use`, then stopped and the folder removed. */
async function withServer<T>(
  side: Side,
  fleet: Fleet,
  signal: AbortSignal,
  use: (server: Server) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-alertmanager-bench-" });
  fleet.reset();
  let server: Server | null = null;
  try {
    server = await side.start(dir, fleet, signal);
    return await use(server);
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A warm-up, then the closed loop of `CONCURRENCY` requests in flight for `SECONDS`. */
async function warmClosedLoop(
  server: Server,
  fleet: Fleet,
  signal: AbortSignal,
): Promise<ClosedLoop> {
  const send = server.send;
  await closedLoop({ send, fleet, concurrency: CONCURRENCY, seconds: WARMUP_SECONDS, signal });
  const loop = await withUsage(
    server,
    () => closedLoop({ send, fleet, concurrency: CONCURRENCY, seconds: SECONDS, signal }),
  );
  const answered = loop.requests - loop.errors;
  return {
    ...loop,
    requestsPerSecond: answered / loop.seconds,
    statesPerSecond: (answered * SCRIPTS.length) / loop.seconds,
  };
}

const closedLine = (closed: ClosedLoop) =>
  `${count(closed.statesPerSecond)} states/s, p99 ${ms(closed.p99)}, ` +
  `${closed.cpuPerRequestMs.toFixed(2)} ms CPU a request, ${count(closed.errors)} errors, ` +
  coresLine(closed);

/** One side's loops of a round of {@linkcode sideBySide}. */
interface RoundLoop {
  round: number;
  side: string;
  closed: ClosedLoop;
  steady: Rate;
  rssClosedLoopBytes: number;
}

/**
 * The closed loop, the pause and the steady rate, each of ours next to Alertmanager's: `PAIRS`
 * rounds, in each Alertmanager in the middle of ours (KV, Alertmanager, PostgreSQL; the next round
 * the other way round). Each server is started afresh for its loops and stopped after them.
 */
async function sideBySide(
  ours: Side[],
  theirs: Side,
  fleet: Fleet,
  signal: AbortSignal,
): Promise<RoundLoop[]> {
  const loops: RoundLoop[] = [];
  const half = Math.ceil(ours.length / 2);
  for (let round = 1; round <= PAIRS; round++) {
    const order = [...ours.slice(0, half), theirs, ...ours.slice(half)];
    if (round % 2 === 0) order.reverse();
    for (const side of order) {
      loops.push(
        await withServer(side, fleet, signal, async (server) => {
          console.error(
            `side by side ${round}: ${side.name} (pid ${server.pids.join(", ")}), warm-up ` +
              formatDuration(WARMUP_SECONDS * 1000),
          );
          const closed = await warmClosedLoop(server, fleet, signal);
          const rssClosedLoopBytes = await serverPeakRss(server);
          console.error(`  closed loop, ${formatDuration(SECONDS * 1000)}: ${closedLine(closed)}`);
          // As in the whole runs: the steady rate comes after the pause, past the first passes of
          // the collector's periodic work over the new fleet (the uptime cache's at 30 s).
          await sleep(IDLE_SECONDS * 1000, signal);
          const seconds = PAIR_STEADY_SECONDS;
          const steady = await measureRate(server, { fleet, rate: STEADY_RATE, seconds, signal });
          console.error(`  ${steadyLine(steady, seconds)}`);
          return { round, side: side.name, closed, steady, rssClosedLoopBytes };
        }),
      );
    }
  }
  return loops;
}

/** Our side `name`'s loops of {@linkcode sideBySide}, each against its round's Alertmanager. */
function roundsOf(loops: RoundLoop[], name: string, theirs: string) {
  return loops.filter((l) => l.side === name).flatMap((ours) => {
    const them = loops.find((l) => l.side === theirs && l.round === ours.round);
    return them === undefined ? [] : [{
      round: ours.round,
      ours,
      theirs: them,
      states: ours.closed.statesPerSecond / them.closed.statesPerSecond,
      cpu: ours.closed.cpuPerRequestMs / them.closed.cpuPerRequestMs,
      cpuSteady: ours.steady.cpuPerRequestMs / them.steady.cpuPerRequestMs,
    }];
  });
}

const steadyLine = (steady: Rate, seconds: number) =>
  `${count(STEADY_RATE)} requests/s for ${formatDuration(seconds * 1000)}: ` +
  `p99 ${ms(steady.p99)}, ${steady.cpuPerRequestMs.toFixed(2)} ms CPU a request, ` +
  `${count(steady.errors)} errors, ${coresLine(steady)}`;

/** Starts `side` in a temporary folder, measures it, stops it and removes the folder. */
function measure(side: Side, run: number, fleet: Fleet, signal: AbortSignal): Promise<Run> {
  return withServer(side, fleet, signal, async (server) => {
    console.error(
      `run ${run}: ${side.name} (pid ${server.pids.join(", ")}), warm-up ${
        formatDuration(WARMUP_SECONDS * 1000)
      }`,
    );
    const closed = await warmClosedLoop(server, fleet, signal);
    const rssClosedLoopBytes = await serverPeakRss(server);
    console.error(`  closed loop, ${formatDuration(SECONDS * 1000)}: ${closedLine(closed)}`);
    const idle = await withUsage(server, async () => {
      const t0 = performance.now();
      await sleep(IDLE_SECONDS * 1000, signal);
      const seconds = (performance.now() - t0) / 1000;
      return { requests: 0, errors: 0, unsent: 0, seconds, p50: NaN, p95: NaN, p99: NaN, max: NaN };
    });
    console.error(
      `  no requests, ${formatDuration(IDLE_SECONDS * 1000)}: ` +
        `${count(idle.serverCpuMs / idle.seconds)} ms CPU a second, ${coresLine(idle)}`,
    );
    const steady = await measureRate(server, {
      fleet,
      rate: STEADY_RATE,
      seconds: STEADY_SECONDS,
      signal,
    });
    console.error(`  ${steadyLine(steady, STEADY_SECONDS)}`);
    const rates = await measureRates(server, fleet, signal);
    const rssMaxBytes = await serverPeakRss(server);
    return { side: side.name, run, closed, idle, steady, rates, rssClosedLoopBytes, rssMaxBytes };
  });
}

/** The highest rate of `rates` that passed `limitMs`, in script states a second; 0 for none. */
function highestStates(rates: Rate[], limitMs: number): number {
  const passed = rates.filter((r) => passes(r, limitMs)).map((r) => r.rate);
  return passed.length === 0 ? 0 : Math.max(...passed) * SCRIPTS.length;
}

/** "7,500" when a faster rate was tried and missed, "≥ 25,000" when none missed, "< 2,500". */
function rateCell(rates: Rate[], limitMs: number): string {
  const best = highestStates(rates, limitMs);
  if (best === 0) return `< ${count(RATES[0] * SCRIPTS.length)}`;
  const missedAbove = rates.some((r) => r.rate * SCRIPTS.length > best && !passes(r, limitMs));
  return missedAbove ? count(best) : `≥ ${count(best)}`;
}

/** The medians per side, and the table's rows. */
function summarize(runs: Run[], loops: RoundLoop[], names: [string, string]) {
  const of = (name: string) => runs.filter((r) => r.side === name);
  const med = (name: string, value: (r: Run) => number) => median(of(name).map(value));
  const medians = Object.fromEntries(names.map((name) => [name, {
    statesPerSecond: med(name, (r) => r.closed.statesPerSecond),
    requestsPerSecond: med(name, (r) => r.closed.requestsPerSecond),
    p50: med(name, (r) => r.closed.p50),
    p95: med(name, (r) => r.closed.p95),
    p99: med(name, (r) => r.closed.p99),
    errors: med(name, (r) => r.closed.errors),
    highestStatesP99Under100: med(name, (r) => highestStates(r.rates, 100)),
    highestStatesP99Under50: med(name, (r) => highestStates(r.rates, 50)),
    cpuPerRequestMs: med(name, (r) => r.closed.cpuPerRequestMs),
    cpuPerRequestSteadyMs: med(name, (r) => r.steady.cpuPerRequestMs),
    steadyP50: med(name, (r) => r.steady.p50),
    steadyP99: med(name, (r) => r.steady.p99),
    idleCpuMsPerSecond: med(name, (r) => r.idle.serverCpuMs / r.idle.seconds),
    serverCores: med(name, (r) => r.closed.serverCores),
    generatorCores: med(name, (r) => r.closed.generatorCores),
    otherCores: med(name, (r) => r.closed.otherCores),
    rssClosedLoopBytes: med(name, (r) => r.rssClosedLoopBytes),
    rssClosedLoopOfRunsBytes: Math.max(
      ...of(name).map((r) => r.rssClosedLoopBytes),
      ...loops.filter((l) => l.side === name).map((l) => l.rssClosedLoopBytes),
    ),
    rssMaxBytes: med(name, (r) => r.rssMaxBytes),
  }]));
  const [ours, theirs] = names.map((n) => medians[n]);
  const ratio = (a: number, b: number) => Number.isFinite(a) && b > 0 ? (a / b).toFixed(2) : "–";
  const cpu = (n: number) => Number.isFinite(n) ? `${n.toFixed(2)} ms` : "–";
  type Medians = typeof ours;
  const row = (label: string, value: (m: Medians) => number, show: (n: number) => string) => [
    label,
    show(value(ours)),
    show(value(theirs)),
    ratio(value(ours), value(theirs)),
  ];
  const latencies = (m: Medians) => `${ms(m.p50)} / ${ms(m.p95)} / ${ms(m.p99)}`;
  const fixed = (limit: 100 | 50) => [
    `highest fixed rate with p99 < ${limit} ms, script-states/s (each run)`,
    ...names.map((name) => of(name).map((r) => rateCell(r.rates, limit)).join(" / ")),
    limit === 100
      ? ratio(ours.highestStatesP99Under100, theirs.highestStatesP99Under100)
      : ratio(ours.highestStatesP99Under50, theirs.highestStatesP99Under50),
  ];
  const steady = `both at ${count(STEADY_RATE)} requests/s for ${
    formatDuration(STEADY_SECONDS * 1000)
  }`;
  const cores = (m: Medians) => `${m.generatorCores.toFixed(2)} / ${m.otherCores.toFixed(2)}`;
  const rounds = roundsOf(loops, names[0], names[1]);
  type Round = (typeof rounds)[number];
  const ofRounds = (value: (r: Round) => number) => median(rounds.map(value));
  const sideBySideRow = (
    label: string,
    value: (l: RoundLoop) => number,
    show: (n: number) => string,
    ratioOf: (r: Round) => number,
  ) => [
    `${label}, side by side (median of ${rounds.length} rounds)`,
    show(ofRounds((r) => value(r.ours))),
    show(ofRounds((r) => value(r.theirs))),
    `${ofRounds(ratioOf).toFixed(2)} (median of the rounds' ratios)`,
  ];
  const pairSteady = `at ${count(STEADY_RATE)} requests/s for ${
    formatDuration(PAIR_STEADY_SECONDS * 1000)
  }`;
  const sideBySideRows = rounds.length === 0 ? [] : [
    sideBySideRow(
      "script-states/s, closed loop",
      (l) => l.closed.statesPerSecond,
      count,
      (r) => r.states,
    ),
    sideBySideRow(
      "p99, closed loop",
      (l) => l.closed.p99,
      ms,
      (r) => r.ours.closed.p99 / r.theirs.closed.p99,
    ),
    sideBySideRow(
      "server CPU per request, closed loop",
      (l) => l.closed.cpuPerRequestMs,
      cpu,
      (r) => r.cpu,
    ),
    sideBySideRow(
      `server CPU per request, ${pairSteady}`,
      (l) => l.steady.cpuPerRequestMs,
      cpu,
      (r) => r.cpuSteady,
    ),
  ];
  const rows: string[][] = [
    ...sideBySideRows,
    row("script-states/s, closed loop", (m) => m.statesPerSecond, count),
    [
      "p50 / p95 / p99, closed loop",
      latencies(ours),
      latencies(theirs),
      (["p50", "p95", "p99"] as const).map((p) => ratio(ours[p], theirs[p])).join(" / "),
    ],
    fixed(100),
    fixed(50),
    row("server CPU per request, closed loop", (m) => m.cpuPerRequestMs, cpu),
    row(`server CPU per request, ${steady}`, (m) => m.cpuPerRequestSteadyMs, cpu),
    [
      `p50 / p99, ${steady}`,
      `${ms(ours.steadyP50)} / ${ms(ours.steadyP99)}`,
      `${ms(theirs.steadyP50)} / ${ms(theirs.steadyP99)}`,
      `${ratio(ours.steadyP50, theirs.steadyP50)} / ${ratio(ours.steadyP99, theirs.steadyP99)}`,
    ],
    row(
      `server CPU with no requests, after the closed loop (${formatDuration(IDLE_SECONDS * 1000)})`,
      (m) => m.idleCpuMsPerSecond,
      (n) => `${count(n)} ms a second`,
    ),
    row("server cores busy, closed loop", (m) => m.serverCores, (n) => n.toFixed(2)),
    row("server RSS, max, to the end of the closed loop", (m) => m.rssClosedLoopBytes, formatBytes),
    row("server RSS, max, whole run (overloaded rates too)", (m) => m.rssMaxBytes, formatBytes),
    ["load generator / other processes, cores busy, closed loop", cores(ours), cores(theirs), ""],
    ["failed requests, closed loop", count(ours.errors), count(theirs.errors), ""],
  ];
  const each = (ratioOf: (r: Round) => number) =>
    rounds.map((r) => ratioOf(r).toFixed(2)).join(", ");
  const runsBars = [
    ...([["closed loop", "cpuPerRequestMs"], [steady, "cpuPerRequestSteadyMs"]] as const).map((
      [where, key],
    ) => ({
      bar: `server CPU per request ≤ 1.5× Alertmanager's (${where})`,
      held: ours[key] <= 1.5 * theirs[key],
      detail: `${cpu(ours[key])} against ${cpu(1.5 * theirs[key])}`,
    })),
    {
      bar: "closed-loop script-states/s ≥ ⅔ of Alertmanager's, p99 < 50 ms",
      held: ours.statesPerSecond >= (2 / 3) * theirs.statesPerSecond && ours.p99 < 50,
      detail: `${count(ours.statesPerSecond)} against ${
        count((2 / 3) * theirs.statesPerSecond)
      }, p99 ${ms(ours.p99)}`,
    },
  ];
  // Judged on the rounds side by side when there are any: the whole runs' loops are minutes
  // apart, and the machine's speed drifts by a third in that time (bench/README.md).
  const sideBySideBars = rounds.length === 0 ? [] : [
    ...([["closed loop", (r: Round) => r.cpu], [pairSteady, (r: Round) => r.cpuSteady]] as const)
      .map(([where, ratioOf]) => ({
        bar: `server CPU per request ≤ 1.5× Alertmanager's (${where}, side by side)`,
        held: ofRounds(ratioOf) <= 1.5,
        detail: `${ofRounds(ratioOf).toFixed(2)}×, the median of the rounds (each: ${
          each(ratioOf)
        })`,
      })),
    {
      bar: "closed-loop script-states/s ≥ ⅔ of Alertmanager's, p99 < 50 ms (side by side)",
      held: ofRounds((r) => r.states) >= 2 / 3 && ofRounds((r) => r.ours.closed.p99) < 50,
      detail: `${ofRounds((r) => r.states).toFixed(2)} of Alertmanager's, the median of the ` +
        `rounds (each: ${each((r) => r.states)}), p99 ${
          ms(ofRounds((r) => r.ours.closed.p99))
        } (median)`,
    },
  ];
  const bars = [
    ...(rounds.length === 0 ? runsBars : sideBySideBars),
    {
      bar: "server RSS under load ≤ 150 MB",
      held: ours.rssClosedLoopOfRunsBytes <= 150e6,
      detail: `${formatBytes(ours.rssClosedLoopOfRunsBytes)} to the end of the closed loop, ` +
        `the largest of the runs and rounds`,
    },
  ];
  return { medians, rows, bars, runsBars: rounds.length === 0 ? [] : runsBars };
}

/** The table and bars of `names` (one of ours, then Alertmanager), from their runs. */
function printTable(runs: Run[], loops: RoundLoop[], names: [string, string]): void {
  const { rows, bars, runsBars } = summarize(runs, loops, names);
  const runsOf = REPEATS === 1 ? "the whole run" : `median of ${REPEATS} whole runs`;
  const header = [`measure (${runsOf} unless said)`, ...names, `${names[0]} / ${names[1]}`];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(header));
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
  for (const r of rows) console.log(line(r));
  console.log(`\nBars of issue 20, ${names[0]}:`);
  for (const b of bars) console.log(`- ${b.bar}: ${b.held ? "held" : "not held"} (${b.detail})`);
  if (runsBars.length > 0) {
    console.log(
      "The same bars on the whole runs' medians (their loops minutes apart), for reference:",
    );
    for (const b of runsBars) {
      console.log(`- ${b.bar}: ${b.held ? "held" : "not held"} (${b.detail})`);
    }
  }
  console.log("");
}

/** Each of our sides' table beside Alertmanager's, then the threads of every run. */
function printTables(runs: Run[], loops: RoundLoop[], ours: string[], theirs: string): void {
  for (const name of ours) printTable(runs, loops, [name, theirs]);
  if (loops.length > 0) {
    console.log(
      "The rounds side by side, each beside its Alertmanager's: closed loop, and CPU per " +
        `request in it and at ${count(STEADY_RATE)} requests/s:`,
    );
    const cpus = (l: RoundLoop) =>
      `${l.closed.cpuPerRequestMs.toFixed(2)} / ${l.steady.cpuPerRequestMs.toFixed(2)} ms`;
    for (const name of ours) {
      for (const r of roundsOf(loops, name, theirs)) {
        console.log(
          `- round ${r.round}, ${name}: ${count(r.ours.closed.statesPerSecond)} states/s, p99 ` +
            `${ms(r.ours.closed.p99)}, ${cpus(r.ours)}; against ` +
            `${count(r.theirs.closed.statesPerSecond)}, p99 ${ms(r.theirs.closed.p99)}, ` +
            `${cpus(r.theirs)}: ${r.states.toFixed(2)}, CPU ${r.cpu.toFixed(2)}× / ` +
            `${r.cpuSteady.toFixed(2)}×`,
        );
      }
    }
    console.log("");
  }
  const busiest = Math.max(...runs.map((r) => r.closed.otherCores));
  if (busiest > 0.25) {
    console.log(
      `Other work on the machine kept up to ${busiest.toFixed(2)} of its cores busy during a ` +
        `closed loop (each run below): the sides competed with it.\n`,
    );
  }
  // The machine's speed drifts by a third from minute to minute (bench/README.md): each run's own
  // ratio shows how far the medians' ratio can be trusted.
  console.log("Each run's closed loop beside the same run's Alertmanager:");
  for (const r of runs.filter((r) => r.side !== theirs)) {
    const them = runs.find((t) => t.side === theirs && t.run === r.run);
    if (them === undefined) continue;
    const ratio = (r.closed.statesPerSecond / them.closed.statesPerSecond).toFixed(2);
    console.log(
      `- run ${r.run}, ${r.side}: ${count(r.closed.statesPerSecond)} states/s, p99 ` +
        `${ms(r.closed.p99)}, against ${count(them.closed.statesPerSecond)}, p99 ` +
        `${ms(them.closed.p99)}: ${ratio}`,
    );
  }
  console.log("");
  const byThread = (phase: Usage & Phase) =>
    Object.entries(phase.threads).slice(0, 6)
      .map(([name, cpu]) => `${name} ${(cpu / phase.requests).toFixed(2)} ms`).join(", ");
  console.log(
    `The server's CPU per request by thread in the closed loop and at ${count(STEADY_RATE)} ` +
      "requests/s, and the cores busy with other work in the closed loop:",
  );
  for (const r of runs) {
    console.log(
      `- run ${r.run}, ${r.side}: ${byThread(r.closed)}; at ${count(STEADY_RATE)}/s ` +
        `${byThread(r.steady)}; other work ${r.closed.otherCores.toFixed(2)} cores`,
    );
  }
}

/** Our sides of `BENCH_SIDES` ("kv,pg"), or null (said on stderr) when one cannot run here. */
function chosenSides(): Side[] | null {
  const sides: Side[] = [];
  for (const name of (Deno.env.get("BENCH_SIDES") ?? "kv,pg").split(",")) {
    if (name === "kv") sides.push(collectorSide);
    else if (name === "pg") {
      const missing = postgresMissing();
      if (missing !== null) {
        console.error(`Cannot run the PostgreSQL side: ${missing} (or BENCH_SIDES=kv)`);
        return null;
      }
      sides.push(postgresSide(REPLICAS));
    } else {
      console.error(`Invalid BENCH_SIDES: expected "kv", "pg" or "kv,pg", got "${name}"`);
      return null;
    }
  }
  return sides;
}

async function main(): Promise<number> {
  const json = Deno.args.includes("--json");
  const found = await Deno.stat(ALERTMANAGER).then((s) => s.isFile, () => false);
  if (!found) {
    console.error(
      `Alertmanager not found at ${ALERTMANAGER}: apt-get install prometheus-alertmanager ` +
        `(or set BENCH_ALERTMANAGER to its path)`,
    );
    return 2;
  }
  const version = new TextDecoder().decode(
    (await new Deno.Command(ALERTMANAGER, { args: ["--version"], stdout: "piped", stderr: "piped" })
      .output()).stdout,
  ).split("\n")[0];
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error("interrupted"));
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const ours = chosenSides();
  if (ours === null) return 2;
  const sides: Side[] = [...ours, alertmanagerSide(ALERTMANAGER)];
  const fleet = new Fleet(WORKSTATIONS, SITES);
  const runs: Run[] = [];
  let loops: RoundLoop[] = [];
  const started = new Date();
  try {
    console.error(
      `${WORKSTATIONS.toLocaleString("en-US")} workstations at ${SITES} sites, ` +
        `${SCRIPTS.length} scripts each; ${CONCURRENCY} in flight for ` +
        `${formatDuration(SECONDS * 1000)}, then ${RATES.join(", ")} requests/s for ` +
        `${formatDuration(RATE_SECONDS * 1000)} each; ${version}`,
    );
    loops = await sideBySide(ours, sides.at(-1)!, fleet, abort.signal);
    for (let run = 1; run <= REPEATS; run++) {
      for (const side of sides) runs.push(await measure(side, run, fleet, abort.signal));
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    console.error("Interrupted: the servers are stopped and their folders removed.");
    return 130;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  const theirs = sides.at(-1)!.name;
  const names = ours.map((side) => side.name);
  if (json) {
    const pairs = names.map((name) => summarize(runs, loops, [name, theirs]));
    const medians = Object.assign({}, ...pairs.map((p) => p.medians));
    const bars = Object.fromEntries(names.map((name, i) => [name, pairs[i].bars]));
    const runsBars = Object.fromEntries(names.map((name, i) => [name, pairs[i].runsBars]));
    const settings = {
      workstations: WORKSTATIONS,
      sites: SITES,
      scripts: SCRIPTS.length,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      sideBySideRounds: PAIRS,
      sideBySideSteadySeconds: PAIR_STEADY_SECONDS,
      rateSeconds: RATE_SECONDS,
      rates: RATES,
      alertmanager: version,
    };
    console.log(
      JSON.stringify(
        { date: started.toISOString(), settings, sideBySide: loops, runs, medians, bars, runsBars },
        null,
        2,
      ),
    );
  } else {
    printTables(runs, loops, names, theirs);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());

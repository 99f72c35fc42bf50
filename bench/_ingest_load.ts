/**
 * The load generator of `bench/alertmanager_bench.ts`: a fleet of simulated workstations, a closed
 * loop (a fixed number of requests in flight) and a fixed rate (requests started on a schedule
 * whatever the answers), each bounded in time and in count; and what the bench reads from
 * `/proc` about the server, itself and the machine.
 *
 * A server under test is one `Send`: it posts workstation `index`'s report of the moment (its
 * scripts' states and 1–2 events) and says whether the server took it. The loops never let one
 * workstation have two reports in flight, as a real agent never has.
 *
 * @module
 */

/** One simulated workstation: what an agent knows about itself. */
export interface Workstation {
  site: string;
  host: string;
  /** The agent token the collector knows it by ("" for servers that check none). */
  token: string;
  /** The last event seq it sent (its next events follow). */
  seq: number;
  /** Reports sent so far: the number of events alternates 1, 2, 1, 2... */
  sent: number;
}

/** Posts workstation `index`'s report; true when the server took it. Never throws. */
export type Send = (index: number, signal: AbortSignal) => Promise<boolean>;

/** A request not answered within this counts as failed. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** The workstations, and which of them have a report in flight. */
export class Fleet {
  readonly workstations: Workstation[];
  #busy: Uint8Array;
  #cursor = 0;

  constructor(count: number, sites: number) {
    this.workstations = Array.from({ length: count }, (_, i) => ({
      site: `FC${i % sites}`,
      host: `ws-${String(i).padStart(4, "0")}`,
      token: "",
      seq: 0,
      sent: 0,
    }));
    this.#busy = new Uint8Array(count);
  }

  /** Forgets every seq and report (a new server starts from nothing). */
  reset(): void {
    for (const w of this.workstations) Object.assign(w, { token: "", seq: 0, sent: 0 });
    this.#busy.fill(0);
  }

  /** The next workstation in turn with nothing in flight, marked busy; -1 when all are. */
  take(): number {
    const n = this.workstations.length;
    for (let k = 0; k < n; k++) {
      const i = this.#cursor;
      this.#cursor = (i + 1) % n;
      if (this.#busy[i] === 0) {
        this.#busy[i] = 1;
        return i;
      }
    }
    return -1;
  }

  /** Workstation `index`'s report was answered. */
  release(index: number): void {
    this.#busy[index] = 0;
  }
}

/** What one phase of load measured; latencies in ms. */
export interface Phase {
  /** Requests answered (taken or refused) or given up on. */
  requests: number;
  /** Requests the server refused or did not answer in time, and `unsent`. */
  errors: number;
  /** Requests a fixed rate did not start: `maxInFlight` were outstanding already. */
  unsent: number;
  seconds: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The `p`th percentile of ascending `sorted` (nearest rank); NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarize(
  latencies: number[],
  counts: { errors: number; unsent: number },
  seconds: number,
): Phase {
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length + counts.unsent,
    ...counts,
    seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
  };
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * `concurrency` requests in flight for `seconds`: each answer starts the next request. Latency is
 * from a request's start to its answer's last byte.
 */
export async function closedLoop(
  options: { send: Send; fleet: Fleet; concurrency: number; seconds: number; signal: AbortSignal },
): Promise<Phase> {
  const { send, fleet, signal } = options;
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + options.seconds * 1000;
  // No server here answers in under 10 µs: a worker's loop ends by time long before this count.
  const most = options.seconds * 100_000;
  await Promise.all(Array.from({ length: options.concurrency }, async () => {
    for (let n = 0; n < most && performance.now() < end && !signal.aborted; n++) {
      const index = fleet.take();
      if (index < 0) throw new RangeError(`More requests in flight than workstations`);
      const start = performance.now();
      const ok = await send(index, signal);
      fleet.release(index);
      latencies.push(performance.now() - start);
      if (!ok) errors++;
    }
  }));
  signal.throwIfAborted();
  return summarize(latencies, { errors, unsent: 0 }, (performance.now() - t0) / 1000);
}

/**
 * `rate` requests a second for `seconds`, started on schedule whether or not earlier ones were
 * answered (an open loop, as a fleet reports). Latency is from the scheduled start to the answer,
 * so a generator or server that falls behind shows in it. A request that would make more than
 * `maxInFlight` outstanding is not sent and counts as an error.
 */
export async function fixedRate(
  options: {
    send: Send;
    fleet: Fleet;
    rate: number;
    seconds: number;
    maxInFlight: number;
    signal: AbortSignal;
  },
): Promise<Phase> {
  const { send, fleet, rate, signal } = options;
  const latencies: number[] = [];
  let errors = 0;
  let unsent = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const total = Math.round(rate * options.seconds);
  const t0 = performance.now();
  for (let n = 0; n < total && !signal.aborted; n++) {
    const due = t0 + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait, signal).catch(() => {});
    const index = inFlight < options.maxInFlight ? fleet.take() : -1;
    if (index < 0) {
      errors++;
      unsent++;
      continue;
    }
    inFlight++;
    const request = send(index, signal).then((ok) => {
      fleet.release(index);
      inFlight--;
      latencies.push(performance.now() - due);
      if (!ok) errors++;
    });
    pending.add(request);
    request.finally(() => pending.delete(request));
  }
  // Every request gives up after REQUEST_TIMEOUT_MS, so this wait is bounded.
  await Promise.all(pending);
  signal.throwIfAborted();
  return summarize(latencies, { errors, unsent }, (performance.now() - t0) / 1000);
}

/** Linux counts CPU time in ticks of 1/100 s (USER_HZ). */
export const TICKS_PER_SECOND = 100;

/** utime + stime of `pid`, with its waited-for children's (cutime + cstime), in ticks. */
export async function processTicks(pid: number | "self"): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** Each thread of `pid`: its name and utime + stime in ticks, by thread id. */
export async function threadTicks(
  pid: number,
): Promise<Map<string, { name: string; ticks: number }>> {
  const out = new Map<string, { name: string; ticks: number }>();
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const stat = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/stat`).catch(() => "");
    if (stat === "") continue; // the thread ended meanwhile
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(task.name, { name, ticks: Number(f[11]) + Number(f[12]) });
  }
  return out;
}

/**
 * CPU ms by thread name between two `threadTicks` readings (a thread started meanwhile counts
 * whole; one that ended meanwhile is lost), largest first.
 */
export function threadsBetween(
  a: Map<string, { name: string; ticks: number }>,
  b: Map<string, { name: string; ticks: number }>,
): Record<string, number> {
  const byName = new Map<string, number>();
  for (const [tid, { name, ticks }] of b) {
    const grown = ticks - (a.get(tid)?.ticks ?? 0);
    byName.set(name, (byName.get(name) ?? 0) + (grown * 1000) / TICKS_PER_SECOND);
  }
  return Object.fromEntries([...byName].filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]));
}

/** The whole machine's busy and total ticks (every core), from the `cpu` line of /proc/stat. */
export async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are inside user and nice)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** The most resident memory `pid` has had (VmHWM), in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

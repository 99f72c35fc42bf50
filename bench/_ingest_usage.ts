/**
 * Where the CPU went while a server of `bench/alertmanager_bench.ts` ran a phase: its processes
 * (every replica), a database's postmaster and backends, the load generator (this process) and
 * the rest of the machine, from `/proc`; and how people read the numbers.
 *
 * @module
 */
import {
  machineTicks,
  peakRss,
  type Phase,
  processTicks,
  threadsBetween,
  threadTicks,
  TICKS_PER_SECOND,
} from "./_ingest_load.ts";
import type { Server } from "./_ingest_servers.ts";

/** Where the CPU went over a phase. */
export interface Usage {
  serverCpuMs: number;
  cpuPerRequestMs: number;
  /** Cores busy over the phase: the server, this process (the load), everything else. */
  serverCores: number;
  generatorCores: number;
  otherCores: number;
  /** The server's CPU ms by thread name (a database's processes as "database"). */
  threads: Record<string, number>;
}

/**
 * CPU ticks of the postmaster `pid`, with the backends it has reaped (its cutime + cstime) and
 * those still running.
 */
async function databaseTicks(pid: number): Promise<number> {
  let ticks = await processTicks(pid);
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    } catch { /* ended meanwhile */ }
  }
  return ticks;
}

/** The server's ticks (its processes and database) and its threads (the database as one). */
async function serverTicks(server: Server) {
  const threads = new Map<string, { name: string; ticks: number }>();
  let ticks = 0;
  for (const pid of server.pids) {
    ticks += await processTicks(pid);
    for (const [tid, thread] of await threadTicks(pid)) threads.set(tid, thread);
  }
  if (server.databasePid !== undefined) {
    const database = await databaseTicks(server.databasePid);
    ticks += database;
    threads.set("database", { name: "database", ticks: database });
  }
  return { ticks, threads };
}

/** Runs `phase` and reads from /proc where the CPU went meanwhile. */
export async function withUsage<P extends Phase>(
  server: Server,
  phase: () => Promise<P>,
): Promise<P & Usage> {
  const read = () => Promise.all([serverTicks(server), processTicks("self"), machineTicks()]);
  const [cpu0, self0, machine0] = await read();
  const p = await phase();
  const [cpu1, self1, machine1] = await read();
  const cores = (ticks: number) => ticks / TICKS_PER_SECOND / p.seconds;
  const spent = cpu1.ticks - cpu0.ticks;
  const serverCpuMs = (spent * 1000) / TICKS_PER_SECOND;
  return {
    ...p,
    serverCpuMs,
    cpuPerRequestMs: serverCpuMs / p.requests,
    serverCores: cores(spent),
    generatorCores: cores(self1 - self0),
    otherCores: Math.max(0, cores(machine1.busy - machine0.busy - spent - (self1 - self0))),
    threads: threadsBetween(cpu0.threads, cpu1.threads),
  };
}

/** The largest peak RSS (VmHWM) of the server's processes: the bar is per process. */
export async function serverPeakRss(server: Server): Promise<number> {
  return Math.max(...await Promise.all(server.pids.map(peakRss)));
}

/** "0.95 + 0.34 (+ 0.05 other) cores": the server, the load generator, everything else. */
export const coresLine = (u: Usage) =>
  `${u.serverCores.toFixed(2)} + ${u.generatorCores.toFixed(2)} (+ ${
    u.otherCores.toFixed(2)
  } other) cores`;

/** The median of the finite `values`; NaN when there is none. */
export function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Latency as people read it: `6.2 ms`, `37 ms`. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return `${value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en-US")} ms`;
}

/** A count with thousands separators. */
export function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–";
}

/**
 * Memory and CPU of a script's whole process tree, from one snapshot of the
 * process table, checked against the script's `warn` and `restart` limits.
 * A limit counts only once it has held for `limits.samples` consecutive
 * samples, so one spike neither warns nor restarts.
 */
import { formatBytes } from "../../shared/config/units.ts";
import type { ResolvedLimits } from "../../shared/agent_config/types.ts";
import type { ProcessSample } from "../platform/types.ts";
import type { CheckState, CheckStatus, ResourceSample } from "./types.ts";

/** The summed resources of one process tree. */
export interface TreeUsage {
  rssBytes: number;
  /** CPU time of the tree's live processes, in seconds. */
  cpuSeconds: number;
  processes: number;
}

/**
 * A process table indexed once (by pid, parent and group), so that one sample
 * of many scripts walks each tree without a pass over the table per script.
 */
export class ProcessIndex {
  readonly byPid = new Map<number, ProcessSample>();
  readonly children = new Map<number, ProcessSample[]>();
  readonly groups = new Map<number, ProcessSample[]>();

  constructor(table: readonly ProcessSample[]) {
    for (const p of table) {
      this.byPid.set(p.pid, p);
      if (p.ppid !== p.pid) push(this.children, p.ppid, p);
      if (p.pgid !== undefined) push(this.groups, p.pgid, p);
    }
  }
}

function push(map: Map<number, ProcessSample[]>, key: number, p: ProcessSample): void {
  const list = map.get(key);
  if (list) list.push(p);
  else map.set(key, [p]);
}

/**
 * The usage of `rootPid`'s tree: the processes in its POSIX process group
 * (`pgid === rootPid`) plus every descendant by ppid of the root or of a group
 * member (Windows, and children that left the group). Null when the root is
 * not in the table.
 */
export function treeUsage(
  table: readonly ProcessSample[] | ProcessIndex,
  rootPid: number,
): TreeUsage | null {
  const index = table instanceof ProcessIndex ? table : new ProcessIndex(table);
  const root = index.byPid.get(rootPid);
  if (root === undefined) return null;
  const { children } = index;
  const members = new Map<number, ProcessSample>();
  const queue: ProcessSample[] = [...(index.groups.get(rootPid) ?? [])];
  if (root.pgid !== rootPid) queue.push(root);
  for (const p of queue) members.set(p.pid, p);
  // Every process enters the queue at most once, so this ends.
  for (let i = 0; i < queue.length; i++) {
    for (const child of children.get(queue[i].pid) ?? []) {
      if (members.has(child.pid)) continue;
      members.set(child.pid, child);
      queue.push(child);
    }
  }
  let rssBytes = 0;
  let cpuSeconds = 0;
  for (const p of members.values()) {
    rssBytes += p.rssBytes;
    cpuSeconds += p.cpuSeconds;
  }
  return { rssBytes, cpuSeconds, processes: members.size };
}

/** What one `ResourceTracker.update()` found. */
export interface ResourceUpdate {
  sample: ResourceSample;
  /** Null when the script has no memory limit. */
  memory: CheckState | null;
  /** Null when the script has no CPU limit. */
  cpu: CheckState | null;
  /** Set once, on the sample that made a restart limit hold. */
  restart: { check: "memory" | "cpu"; reason: string } | null;
}

/** Options of `ResourceTracker`. */
export interface ResourceTrackerOptions {
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

/**
 * The memory and CPU checks of one script, fed one tree usage per sample.
 * Check states carry the value and threshold in bytes (memory) or percent of
 * one core (cpu); `consecutiveFailures` counts samples in a row over the
 * lowest limit, `failuresTotal` the times the check left `ok`.
 */
export class ResourceTracker {
  #now: () => number;
  #memory: LimitCheck | null;
  #cpu: LimitCheck | null;
  #previous: { cpuSeconds: number; atMs: number } | null = null;

  /** @throws {RangeError} when `limits.samples` is not a positive integer. */
  constructor(limits: ResolvedLimits, options: ResourceTrackerOptions = {}) {
    if (!Number.isInteger(limits.samples) || limits.samples < 1) {
      throw new RangeError(
        `Invalid resource limits: samples must be a positive integer, got ${limits.samples}`,
      );
    }
    this.#now = options.now ?? Date.now;
    const at = this.#now();
    this.#memory = limits.memoryWarnBytes === undefined && limits.memoryRestartBytes === undefined
      ? null
      : new LimitCheck({
        name: "memory",
        warn: limits.memoryWarnBytes,
        restart: limits.memoryRestartBytes,
        samples: limits.samples,
        format: formatBytes,
        at,
      });
    this.#cpu = limits.cpuWarnPercent === undefined && limits.cpuRestartPercent === undefined
      ? null
      : new LimitCheck({
        name: "cpu",
        warn: limits.cpuWarnPercent,
        restart: limits.cpuRestartPercent,
        samples: limits.samples,
        format: formatPercent,
        at,
      });
  }

  /** The memory check's state; null without a memory limit. */
  get memory(): CheckState | null {
    return this.#memory?.state ?? null;
  }

  /** The CPU check's state; null without a CPU limit. */
  get cpu(): CheckState | null {
    return this.#cpu?.state ?? null;
  }

  /**
   * One sample of the tree. CPU percent is the CPU time used since the
   * previous sample over the wall time between them; null on the first
   * sample and when the tree's CPU time went down (a process of it ended).
   */
  update(usage: TreeUsage, atMs: number = this.#now()): ResourceUpdate {
    const previous = this.#previous;
    const cpuPercent =
      previous !== null && usage.cpuSeconds >= previous.cpuSeconds && atMs > previous.atMs
        ? ((usage.cpuSeconds - previous.cpuSeconds) / ((atMs - previous.atMs) / 1000)) * 100
        : null;
    this.#previous = { cpuSeconds: usage.cpuSeconds, atMs };
    const memory = this.#memory?.evaluate(usage.rssBytes, atMs) ?? null;
    const cpu = this.#cpu?.evaluate(cpuPercent, atMs) ?? null;
    const restart = memory?.restart
      ? { check: "memory" as const, reason: memory.restart }
      : cpu?.restart
      ? { check: "cpu" as const, reason: cpu.restart }
      : null;
    return {
      sample: {
        at: new Date(atMs).toISOString(),
        rssBytes: usage.rssBytes,
        cpuSeconds: usage.cpuSeconds,
        cpuPercent,
        processes: usage.processes,
      },
      memory: memory?.state ?? null,
      cpu: cpu?.state ?? null,
      restart,
    };
  }

  /** Forget the previous run (after a restart): counts and CPU baseline start over, states are `unknown`. */
  reset(): void {
    const at = this.#now();
    this.#previous = null;
    this.#memory?.reset(at);
    this.#cpu?.reset(at);
  }
}

function formatPercent(percent: number): string {
  return `${Number(percent.toFixed(1))}%`;
}

/** One check (memory or cpu) with a warn and/or a restart limit. */
class LimitCheck {
  #name: "memory" | "cpu";
  #warn: number | undefined;
  #restart: number | undefined;
  #samples: number;
  #format: (value: number) => string;
  #overWarn = 0;
  #overRestart = 0;
  #restartSent = false;
  state: CheckState;

  constructor(
    options: {
      name: "memory" | "cpu";
      warn?: number;
      restart?: number;
      samples: number;
      format: (value: number) => string;
      at: number;
    },
  ) {
    this.#name = options.name;
    this.#warn = options.warn;
    this.#restart = options.restart;
    this.#samples = options.samples;
    this.#format = options.format;
    this.state = {
      name: options.name,
      status: "unknown",
      reason: "not sampled yet",
      threshold: options.warn ?? options.restart,
      since: new Date(options.at).toISOString(),
      checkedAt: null,
      consecutiveFailures: 0,
      failuresTotal: 0,
    };
  }

  /** One value (null: none measurable yet); the new state and, once per episode, a restart reason. */
  evaluate(value: number | null, at: number): { state: CheckState; restart: string | null } {
    if (value === null) {
      const reason = this.state.status === "unknown"
        ? `no ${this.#name} rate yet: it needs two samples`
        : this.state.reason;
      this.state = { ...this.state, reason, checkedAt: new Date(at).toISOString() };
      return { state: this.state, restart: null };
    }
    const overRestart = this.#restart !== undefined && value > this.#restart;
    const overWarn = overRestart || (this.#warn !== undefined && value > this.#warn);
    this.#overRestart = overRestart ? this.#overRestart + 1 : 0;
    this.#overWarn = overWarn ? this.#overWarn + 1 : 0;
    const status: CheckStatus = this.#overRestart >= this.#samples
      ? "failing"
      : this.#overWarn >= this.#samples && this.#warn !== undefined
      ? "warning"
      : "ok";
    const reason = this.#reason(value);
    const changed = status !== this.state.status;
    const wasOk = this.state.status === "ok" || this.state.status === "unknown";
    this.state = {
      ...this.state,
      status,
      reason,
      value,
      threshold: status === "failing"
        ? this.#restart
        : status === "warning"
        ? this.#warn
        : this.#warn ?? this.#restart,
      since: changed ? new Date(at).toISOString() : this.state.since,
      checkedAt: new Date(at).toISOString(),
      consecutiveFailures: this.#overWarn,
      failuresTotal: this.state.failuresTotal + (wasOk && status !== "ok" ? 1 : 0),
    };
    let restart: string | null = null;
    if (status === "failing" && !this.#restartSent) {
      this.#restartSent = true;
      restart = reason;
    } else if (status !== "failing") {
      this.#restartSent = false;
    }
    return { state: this.state, restart };
  }

  reset(at: number): void {
    this.#overWarn = 0;
    this.#overRestart = 0;
    this.#restartSent = false;
    const changed = this.state.status !== "unknown";
    this.state = {
      ...this.state,
      status: "unknown",
      reason: "not sampled since the restart",
      value: undefined,
      threshold: this.#warn ?? this.#restart,
      since: changed ? new Date(at).toISOString() : this.state.since,
      consecutiveFailures: 0,
    };
  }

  /** `memory 312.4 MB over the restart limit 300 MB for 3 samples`, or `(1 of 3 samples)` while not held. */
  #reason(value: number): string {
    const shown = `${this.#name} ${this.#format(value)}`;
    const limit = this.#restart !== undefined && value > this.#restart
      ? { kind: "restart", value: this.#restart, count: this.#overRestart }
      : this.#warn !== undefined && value > this.#warn
      ? { kind: "warn", value: this.#warn, count: this.#overWarn }
      : null;
    if (limit === null) {
      const under = this.#warn !== undefined ? "warn" : "restart";
      return `${shown} under the ${under} limit ${
        this.#format((this.#warn ?? this.#restart) as number)
      }`;
    }
    const over = `${shown} over the ${limit.kind} limit ${this.#format(limit.value)}`;
    const plural = (n: number) => `${n} sample${n === 1 ? "" : "s"}`;
    return limit.count >= this.#samples
      ? `${over} for ${plural(limit.count)}`
      : `${over} (${limit.count} of ${plural(this.#samples)})`;
  }
}

/**
 * The set of supervised scripts of one agent: applies a config (start what
 * was added, stop what was removed, restart what changed, leave the rest
 * alone), keeps a health monitor beside each script, and answers for all
 * of them. A `singleton = "site"` script is not started here: the site
 * lease manager (`site_lease.ts`) starts and stops it as it gains and loses
 * the lease, and says why it waits with `setWaiting()`. A script with
 * `active` hours is started and stopped as its calendar opens and closes
 * (`active_hours.ts`).
 */
import { getLogger } from "@logtape/logtape";
import { isDeepStrictEqual } from "node:util";
import type { ResolvedAgentConfig, ResolvedScript } from "../../shared/agent_config/types.ts";
import { HealthMonitor } from "../health/monitor.ts";
import type { PingKind } from "../health/heartbeat.ts";
import { ProcessIndex, treeUsage } from "../health/resources.ts";
import { foldHealth } from "../health/types.ts";
import type { ProcessSample } from "../platform/types.ts";
import { type RunnerDeps, ScriptRunner } from "./script_runner.ts";
import type { ScriptStatus, SingletonInfo } from "./state.ts";
import { ActiveHours, closedReason } from "./active_hours.ts";
import { offHoursAt } from "../health/off_hours.ts";

/** A request named a script the config does not have. */
export class UnknownScriptError extends Error {
  override name = "UnknownScriptError";
  /** The names that do exist. */
  readonly known: string[];

  constructor(name: string, known: string[]) {
    super(`No script named "${name}" in the config (known: ${known.join(", ") || "none"})`);
    this.known = known;
  }
}

/** What `apply()` did. */
export interface ApplyResult {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

/** A script and the monitor of its health. */
interface Entry {
  runner: ScriptRunner;
  monitor: HealthMonitor;
  /** Why a stopped singleton script waits (its site lease); shown as its reason. */
  waiting: string | null;
}

const log = getLogger(["scriptmon", "supervisor"]);
const CLAIM_WORD = { site: "lease", machine: "claim" } as const;
const LAST_LINES = 5;

/** Supervises every script of the current config. */
export class Supervisor {
  #deps: RunnerDeps;
  #entries = new Map<string, Entry>();

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
    this.#activeHours = new ActiveHours({
      clock: deps.clock,
      runners: () => this.runners(),
      mayRun: (runner) => {
        const scope = this.singletonOf(runner.config);
        return scope === null || (this.holders.get(scope)?.(runner.name)?.here ?? false);
      },
    });
  }

  #activeHours: ActiveHours;
  /** Relayed posts attributed to each script since the agent started. */
  #posted = new Map<string, number>();

  /** Counts one relayed post of `script` (a name that is no script here is not counted). */
  notePost(script: string): void {
    if (!this.#entries.has(script)) return;
    this.#posted.set(script, (this.#posted.get(script) ?? 0) + 1);
  }

  /**
   * Called when a singleton script's runner is added (not started: its site
   * lease or machine claim decides).
   */
  readonly singletonAdded = new Set<(runner: ScriptRunner) => void>();

  /** Per scope, who holds a script's lease or claim (set by the lease and claim managers). */
  readonly holders = new Map<
    "site" | "machine",
    (script: string) => Omit<SingletonInfo, "scope"> | null
  >();

  /** The scope of scripts without a `singleton` key (`"machine"` under `run --at-logon`). */
  defaultSingleton: "machine" | undefined = undefined;

  /** False where the OS has no machine claims (macOS): machine scripts then run here. */
  machineClaims = true;

  /** True while `apply` runs: a script missing from `runners()` may still be stopping. */
  get applying(): boolean {
    return this.#applying > 0;
  }
  #applying = 0;

  /** Where `script` may run: on one agent of the site or of the machine, or (null) here. */
  singletonOf(script: ResolvedScript): "site" | "machine" | null {
    const scope = script.singleton ?? this.defaultSingleton;
    if (scope === "machine") return this.machineClaims ? "machine" : null;
    return scope === "site" ? scope : null;
  }

  /** Brings the running set in line with `config`; see the module comment. */
  async apply(config: ResolvedAgentConfig): Promise<ApplyResult> {
    this.#applying++;
    try {
      return await this.#apply(config);
    } finally {
      this.#applying--;
    }
  }

  async #apply(config: ResolvedAgentConfig): Promise<ApplyResult> {
    const result: ApplyResult = { added: [], removed: [], changed: [], unchanged: [] };
    const next = config.scripts;
    const stops: Promise<void>[] = [];
    for (const [name, entry] of this.#entries) {
      if (!(name in next)) {
        result.removed.push(name);
        this.#entries.delete(name);
        stops.push(dispose(entry, "removed from the config"));
      }
    }
    await Promise.all(stops);
    const starts: Promise<void>[] = [];
    for (const [name, script] of Object.entries(next)) {
      const current = this.#entries.get(name);
      if (current && sameScript(current.runner.config, script)) {
        result.unchanged.push(name);
        continue;
      }
      if (current) {
        result.changed.push(name);
        // Out of the map first: no request may reach the old runner while it is replaced.
        this.#entries.delete(name);
        starts.push(dispose(current, "changed in the config").then(() => this.#add(script)));
      } else {
        result.added.push(name);
        starts.push(this.#add(script));
      }
    }
    await Promise.all(starts);
    // Keep file order for status listings.
    this.#entries = new Map(Object.keys(next).map((n) => [n, this.#entries.get(n)!]));
    if (result.added.length + result.removed.length + result.changed.length > 0) {
      log.info("Config applied: {summary}", { summary: summarize(result) });
    }
    return result;
  }

  async #add(script: ResolvedScript): Promise<void> {
    const runner = new ScriptRunner(script, this.#deps);
    const monitor = new HealthMonitor(runner, this.#deps);
    if (script.active !== undefined) {
      if (script.active.offHours === "stop") {
        runner.gate = () => closedReason(script, this.#deps.clock.now());
      }
      this.#activeHours.start();
      this.#activeHours.wake();
    }
    const scope = this.singletonOf(script);
    if (scope !== null) {
      const waiting = script.enabled ? `waiting for the ${scope} ${CLAIM_WORD[scope]}` : null;
      this.#entries.set(script.name, { runner, monitor, waiting });
      for (const listener of this.singletonAdded) listener(runner);
      return;
    }
    this.#entries.set(script.name, { runner, monitor, waiting: null });
    if (script.enabled) await runner.start();
  }

  /** Shows `reason` as the reason of `runner` while it is stopped (null: its own reason). */
  setWaiting(runner: ScriptRunner, reason: string | null): void {
    const entry = this.#entries.get(runner.name);
    if (entry?.runner === runner) entry.waiting = reason;
  }

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownScriptError(name, [...this.#entries.keys()]);
    return entry;
  }

  /** The runner of `name`; throws UnknownScriptError. */
  get(name: string): ScriptRunner {
    return this.#entry(name).runner;
  }

  /** Every runner, in config order. */
  runners(): ScriptRunner[] {
    return [...this.#entries.values()].map((e) => e.runner);
  }

  /** A heartbeat ping for `name`; throws UnknownScriptError. */
  ping(name: string, kind: PingKind, body: string | null): void {
    this.#entry(name).monitor.ping(kind, body);
  }

  /** Hands one process-table snapshot to every running script's monitor. */
  sample(table: ProcessSample[], at: number): void {
    const index = new ProcessIndex(table);
    for (const { runner, monitor } of this.#entries.values()) {
      const pid = runner.pid;
      monitor.sample(pid ? treeUsage(index, pid) : null, at);
    }
  }

  /** Status of one script, health included; throws UnknownScriptError. */
  statusOf(name: string): ScriptStatus {
    return this.#statusOf(this.#entry(name));
  }

  /** Status of every script, in config order. */
  status(): ScriptStatus[] {
    return [...this.#entries.values()].map((entry) => this.#statusOf(entry));
  }

  /** Stops every script (each within its stop_timeout, all at once) and closes logs. */
  async shutdown(): Promise<void> {
    await this.#activeHours.close();
    await Promise.all([...this.#entries.values()].map((e) => dispose(e, "agent shutting down")));
    this.#entries.clear();
  }

  #statusOf(entry: Entry): ScriptStatus {
    const posted = this.#posted.get(entry.runner.name);
    const status: ScriptStatus = {
      ...statusOf(entry, this.#deps.clock.now()),
      ...(posted === undefined ? {} : { posted }),
      ...(entry.runner.config.anomalies === false ? { anomalies: false } : {}),
    };
    const scope = this.singletonOf(entry.runner.config);
    if (scope === null) return status;
    const held = this.holders.get(scope)?.(entry.runner.name) ?? { here: false, holder: null };
    return { ...status, singleton: { scope, ...held } };
  }
}

function statusOf({ runner, monitor, waiting }: Entry, now: number): ScriptStatus {
  const checks = monitor.checks();
  const status = runner.status();
  const offHours = offHoursAt(runner.config, now);
  // Outside its active hours says more than a lease it would wait for anyway.
  const closed = status.state === "stopped" ? runner.gate?.() ?? null : null;
  return {
    ...status,
    ...(waiting !== null && status.state === "stopped" ? { reason: waiting } : {}),
    ...(closed === null ? {} : { reason: closed }),
    ...(offHours === null ? {} : { offHours }),
    schedule: runner.config.schedule?.cron ?? null,
    health: foldHealth(checks),
    checks,
    resources: monitor.resources,
    heartbeat: monitor.heartbeatInfo(),
    lastLines: runner.recentLines.slice(-LAST_LINES),
  };
}

async function dispose(entry: Entry, reason: string): Promise<void> {
  await entry.monitor.close();
  await entry.runner.dispose(reason);
}

function sameScript(a: ResolvedScript, b: ResolvedScript): boolean {
  return isDeepStrictEqual(a, b);
}

function summarize(r: ApplyResult): string {
  const parts = [
    r.added.length ? `added ${r.added.join(", ")}` : "",
    r.removed.length ? `removed ${r.removed.join(", ")}` : "",
    r.changed.length ? `changed ${r.changed.join(", ")}` : "",
  ].filter(Boolean);
  return parts.join("; ");
}

/**
 * Runs every health check of one script and acts on them: heartbeat and
 * silence deadlines on one timer, probes on their intervals, resources when
 * the agent's sampler passes a sample. Each result change is an event with
 * its reason, value and threshold; a failing check whose action says so
 * restarts the script.
 */
import { getLogger } from "@logtape/logtape";
import { watchFile } from "../platform/watch_file.ts";
import type { Clock } from "../clock.ts";
import type { ResolvedAction, ResolvedProbe } from "../../shared/agent_config/types.ts";
import { HeartbeatCheck, type PingKind } from "./heartbeat.ts";
import { ProbeTracker, runProbe } from "./probes.ts";
import { ResourceTracker, type TreeUsage } from "./resources.ts";
import { SilenceCheck } from "./silence.ts";
import { stretchAt } from "./off_hours.ts";
import { MemoryGrowth } from "./memory_growth.ts";
import type {
  CheckState,
  HealthEvents,
  HealthRunner,
  HeartbeatInfo,
  ResourceSample,
} from "./types.ts";

/** What a monitor needs from the agent. */
export interface MonitorDeps {
  events: HealthEvents;
  clock: Clock;
}

const RESOURCE_ACTION: ResolvedAction = { alert: true, restart: false };
/** How often a failing heartbeat looks at its file for a touch. */
const FILE_RECHECK_MS = 1000;
/** The points in a probe interval's second half where a first wait may end (see #probeLoop). */
const SPREAD = 4;

/** Health checks of one script; see the module comment. */
export class HealthMonitor {
  #runner: HealthRunner;
  #deps: MonitorDeps;
  #log;
  #heartbeat: HeartbeatCheck | null;
  #silence: SilenceCheck | null;
  #probes: { probe: ResolvedProbe; tracker: ProbeTracker }[];
  #resources: ResourceTracker;
  /** The memory's climb toward its limit (scripts with a memory limit). */
  #growth: MemoryGrowth | null;
  #resourceStates = new Map<string, CheckState>();
  /** The last status reported per heartbeat/silence check (they report changes only). */
  #lastStatus = new Map<string, CheckState["status"]>();
  #sample: ResourceSample | null = null;
  #running = false;
  #closed = new AbortController();
  #deadline: AbortController | null = null;
  /** When the armed deadline timer fires. */
  #deadlineAt = Infinity;
  #unsubscribe: () => void;
  /** Stops watching the heartbeat file (null when there is none, or it is polled). */
  #unwatch: (() => void) | null = null;
  #work = new Set<Promise<unknown>>();

  constructor(runner: HealthRunner, deps: MonitorDeps) {
    this.#runner = runner;
    this.#deps = deps;
    this.#log = getLogger(["scriptmon", "health", runner.name]);
    const { health, schedule } = runner.config;
    const now = deps.clock.now();
    this.#heartbeat = health.heartbeat
      ? new HeartbeatCheck(health.heartbeat, { scheduled: Boolean(schedule), now })
      : null;
    this.#silence = health.silence ? new SilenceCheck(health.silence, { now }) : null;
    this.#probes = health.probes.map((probe) => ({ probe, tracker: new ProbeTracker(probe) }));
    this.#resources = new ResourceTracker(health.limits ?? { samples: 1 });
    const limits = health.limits;
    this.#growth = limits?.memoryWarnBytes !== undefined || limits?.memoryRestartBytes !== undefined
      ? new MemoryGrowth(limits, now)
      : null;
    this.#unsubscribe = deps.events.subscribe((e) => {
      if (e.kind !== "state" || e.script !== runner.name) return;
      const at = Date.parse(e.at);
      if (e.state === "running") this.#runStarted(at);
      else if (e.from === "running") this.#runEnded(at);
    });
    if (this.#silence) {
      runner.onOutput = (at) => this.#report(this.#silence!.output(at), health.silence!.action);
    }
    for (const entry of this.#probes) this.#track(this.#probeLoop(entry));
    const file = health.heartbeat?.file;
    if (file) {
      // A touch is a ping the moment it happens; without a watch, the deadline looks at the file.
      try {
        // Seen even before the monitor hears of the run's start: a ping records its time.
        this.#unwatch = watchFile(file, (kind) => this.#fileChanged(kind));
      } catch (error) {
        this.#log.warn(
          "Cannot watch the heartbeat file {file} ({error}); looking at it at the deadline",
          {
            file,
            error: String(error),
          },
        );
      }
    }
    if (runner.state === "running") this.#runStarted(now);
  }

  /** Every check's state, in a stable order. */
  checks(): CheckState[] {
    const { health } = this.#runner.config;
    const alerting = (state: CheckState, alert: boolean | undefined) =>
      alert === false ? { ...state, alert } : state;
    return [
      ...(this.#heartbeat ? [alerting(this.#heartbeat.state, health.heartbeat?.action.alert)] : []),
      ...(this.#silence ? [alerting(this.#silence.state, health.silence?.action.alert)] : []),
      ...this.#probes.map((p) => alerting(p.tracker.state, p.probe.action.alert)),
      ...this.#resourceStates.values(),
    ];
  }

  /** What the heartbeat endpoints heard; null without a heartbeat check and no ping. */
  heartbeatInfo(): HeartbeatInfo | null {
    return this.#heartbeat?.info() ?? null;
  }

  /** The last resource sample while running. */
  get resources(): ResourceSample | null {
    return this.#running ? this.#sample : null;
  }

  /** A ping from the script (`/ping/<name>[/start|/fail]`). */
  ping(kind: PingKind, body: string | null): void {
    if (!this.#heartbeat) return;
    const at = this.#deps.clock.now();
    this.#report(
      this.#heartbeat.ping(kind, at, body),
      this.#runner.config.health.heartbeat!.action,
    );
    this.#armDeadline();
  }

  /** A resource sample of the script's tree (null when it is not running). */
  sample(usage: TreeUsage | null, at: number): void {
    if (!usage || !this.#running) return;
    const result = this.#resources.update(usage, at);
    this.#sample = result.sample;
    for (const state of [result.memory, result.cpu]) {
      if (!state) continue;
      const previous = this.#resourceStates.get(state.name);
      this.#resourceStates.set(state.name, state);
      if (previous?.status !== state.status) {
        this.#emit(state, previous?.status ?? "unknown", RESOURCE_ACTION);
      }
    }
    const growth = this.#growth?.sample(usage.rssBytes, at) ?? null;
    if (growth !== null) {
      const previous = this.#resourceStates.get(growth.name)?.status ?? "unknown";
      this.#resourceStates.set(growth.name, growth);
      this.#emit(growth, previous, RESOURCE_ACTION);
    }
    if (result.restart) this.#restart(result.restart.check, result.restart.reason);
  }

  /** Stops every timer and probe. */
  async close(): Promise<void> {
    this.#closed.abort();
    this.#deadline?.abort();
    this.#unwatch?.();
    this.#unsubscribe();
    this.#runner.onOutput = null;
    await Promise.allSettled([...this.#work]);
  }

  #runStarted(at: number): void {
    this.#running = true;
    this.#resources.reset();
    this.#growth?.reset();
    this.#heartbeat?.runStarted(at);
    this.#silence?.runStarted(at);
    const health = this.#runner.config.health;
    this.#report(this.#heartbeat?.evaluate(at) ?? null, health.heartbeat?.action);
    this.#report(this.#silence?.evaluate(at) ?? null, health.silence?.action);
    this.#armDeadline();
    if (this.#unwatch !== null) this.#track(this.#lookAtFile());
  }

  #runEnded(at: number): void {
    this.#running = false;
    // A run that ended does not climb any more.
    this.#growth?.reset();
    this.#resourceStates.delete("memory-growth");
    const health = this.#runner.config.health;
    this.#report(this.#heartbeat?.runEnded(at) ?? null, health.heartbeat?.action);
    this.#report(this.#silence?.runEnded(at) ?? null, health.silence?.action);
    this.#armDeadline();
  }

  /**
   * One timer at the nearest heartbeat or silence deadline. A timer already armed at or before it
   * is kept: a ping moves the deadline later, and the early timer finds nothing due, then arms the
   * next one (a script pinging every few seconds would otherwise start and drop a timer each time).
   */
  #armDeadline(): void {
    if (this.#closed.signal.aborted) return;
    const { clock } = this.#deps;
    this.#stretchHeartbeat();
    const due = [this.#heartbeat?.nextCheckAt(), this.#silence?.nextCheckAt()]
      .filter((d): d is number => typeof d === "number");
    // Relaxed outside active hours: the deadline moves when the calendar opens or closes.
    const active = this.#runner.config.active;
    if (due.length > 0 && active?.offHours === "relax") {
      const change = active.calendar.nextChange(clock.now());
      if (change !== null) due.push(change);
    }
    // A failing heartbeat with a file recovers when the file is touched: look now and then.
    if (
      this.#heartbeat?.state.status === "failing" && this.#running &&
      this.#runner.config.health.heartbeat?.file
    ) due.push(clock.now() + FILE_RECHECK_MS);
    const at = due.length === 0 ? null : Math.min(...due);
    if (at !== null && this.#deadline !== null && this.#deadlineAt <= at) return;
    this.#deadline?.abort();
    this.#deadline = null;
    if (at === null) return;
    const ctl = new AbortController();
    this.#deadline = ctl;
    this.#deadlineAt = at;
    this.#track(
      clock.sleep(Math.max(0, at - clock.now()), ctl.signal).then(async () => {
        if (ctl.signal.aborted) return;
        this.#deadline = null;
        await this.#onDeadline();
        if (!ctl.signal.aborted) this.#armDeadline();
      }),
    );
  }

  /** The heartbeat's timeout as it stands now: stretched outside relaxed active hours. */
  #stretchHeartbeat(): void {
    if (this.#heartbeat) {
      this.#heartbeat.stretch = stretchAt(this.#runner.config, this.#deps.clock.now());
    }
  }

  async #onDeadline(): Promise<void> {
    this.#stretchHeartbeat();
    const at = this.#deps.clock.now();
    const health = this.#runner.config.health;
    await this.#lookAtFile();
    this.#report(this.#heartbeat?.evaluate(at) ?? null, health.heartbeat?.action);
    this.#report(this.#silence?.evaluate(at) ?? null, health.silence?.action);
  }

  /**
   * What the watch said of the heartbeat file: written or created is a ping now (no need to look
   * at it: a touch is two or three such events, each a `stat` otherwise); a read is none; a
   * rename or a removal is looked at.
   */
  #fileChanged(kind: Deno.FsEvent["kind"]): void {
    const heartbeat = this.#runner.config.health.heartbeat;
    if (kind === "access" || !this.#heartbeat || !heartbeat) return;
    if (kind !== "create" && kind !== "modify") {
      this.#track(this.#lookAtFile({ justChanged: true }));
      return;
    }
    this.#report(this.#heartbeat.ping("success", this.#deps.clock.now()), heartbeat.action);
    this.#armDeadline();
  }

  /**
   * A heartbeat file touched since the last ping is a ping: at once when the
   * watch says it `justChanged` (the file system's coarse mtime may lag the
   * clock by a few ms), else at its mtime.
   */
  async #lookAtFile(options: { justChanged?: boolean } = {}): Promise<void> {
    const heartbeat = this.#runner.config.health.heartbeat;
    if (!this.#heartbeat || !heartbeat?.file) return;
    const mtime = await Deno.stat(heartbeat.file).then((s) => s.mtime?.getTime() ?? null)
      .catch(() => null);
    const at = this.#deps.clock.now();
    if (mtime === null || (!options.justChanged && mtime <= (this.#heartbeat.lastPingAt ?? 0))) {
      return;
    }
    const pingAt = options.justChanged ? at : Math.min(mtime, at);
    this.#report(this.#heartbeat.ping("success", pingAt), heartbeat.action);
    this.#armDeadline();
  }

  async #probeLoop(entry: { probe: ResolvedProbe; tracker: ProbeTracker }): Promise<void> {
    const { clock } = this.#deps;
    const stop = this.#closed.signal;
    // The first wait ends at one of SPREAD points in the interval's second half. The probes of
    // scripts started together then run in a few groups: all at once, a hundred runs' objects were
    // alive when a young-generation collection came and all went to the old generation; each on
    // its own, each run was a few wake-ups of its own, a quarter more CPU (bench/README.md).
    let share = 0.5 + Math.floor(Math.random() * SPREAD) / (2 * SPREAD);
    while (!stop.aborted) {
      await clock.sleep(
        entry.tracker.intervalMs * share * stretchAt(this.#runner.config, clock.now()),
        stop,
      );
      share = 1;
      if (stop.aborted) return;
      if (!this.#running) continue;
      const result = await runProbe(entry.probe, { signal: stop });
      if (stop.aborted || !this.#running) continue;
      const previous = entry.tracker.state.status;
      const { state, changed } = entry.tracker.record(result, clock.now());
      if (changed) this.#emit(state, previous, entry.probe.action);
    }
  }

  /** A heartbeat or silence state change (null: no change). */
  #report(state: CheckState | null, action: ResolvedAction | undefined): void {
    if (!state || !action) return;
    const previous = this.#lastStatus.get(state.name) ?? "unknown";
    this.#emit(state, previous, action);
  }

  #emit(state: CheckState, previous: CheckState["status"], action: ResolvedAction): void {
    this.#lastStatus.set(state.name, state.status);
    const bad = (s: string) => s === "failing" || s === "warning";
    this.#deps.events.append({
      kind: "check",
      script: this.#runner.name,
      check: state.name,
      status: state.status,
      previous,
      reason: state.reason,
      value: state.value,
      threshold: state.threshold,
      alert: action.alert && (bad(state.status) || bad(previous)),
    });
    const line = "{script} {check}: {previous} → {status}: {reason}";
    const values = {
      script: this.#runner.name,
      check: state.name,
      previous,
      status: state.status,
      reason: state.reason,
    };
    if (state.status === "failing") this.#log.warn(line, values);
    else this.#log.info(line, values);
    if (action.restart && state.status === "failing") this.#restart(state.name, state.reason);
  }

  #restart(check: string, reason: string): void {
    if (this.#runner.state !== "running") return;
    this.#deps.events.append({
      kind: "check",
      script: this.#runner.name,
      check,
      status: "failing",
      reason: `restarting: ${reason}`,
      restarted: true,
    });
    this.#track(
      this.#runner.recycle(`${check}: ${reason}`).catch((error) => {
        this.#log.error("Restart of {script} for {check} failed: {error}", {
          script: this.#runner.name,
          check,
          error,
        });
      }),
    );
  }

  #track(p: Promise<unknown>): void {
    this.#work.add(p);
    p.finally(() => this.#work.delete(p));
  }
}

/**
 * Supervises one script: starts it (`_spawn.ts`), captures its output
 * (`_output.ts`), restarts it with backoff, notices a crash loop, stops its
 * whole process tree (`_terminate.ts`), and adopts a copy that is already
 * running instead of starting a second one (`_adopt.ts`).
 *
 * Everything that touches the process happens in one loop (`#supervise`);
 * `start`, `stop` and `restart` only flip what is wanted and wake the loop,
 * and they are serialised so two callers can never race a second copy.
 *
 * Longer than 500 lines because one script's life (spawn, watch, the
 * crash-loop episode, backoff, schedule and token waits) is one state
 * machine over one set of fields, read best in one place; what does not
 * touch that state is in the private files beside it.
 */
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { formatDuration } from "../../shared/config/units.ts";
import { Backoff } from "./backoff.ts";
import type { Clock } from "../clock.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import type { EventLog } from "./event_log.ts";
import { removePidRecord } from "./pid_records.ts";
import type { Platform } from "../platform/types.ts";
import type { TokenGate } from "../tokens/manager.ts";
import type { ExitInfo, RunnerStatus, ScriptState } from "./state.ts";
import { type AdoptContext, adoptRecorded, recordChild } from "./_adopt.ts";
import { checkRunnable, SpawnError, spawnScript } from "./_spawn.ts";
import { reapGroup, type RunEnd, stopTree } from "./_terminate.ts";
import { type OutputLine, ScriptOutput } from "./_output.ts";
import { ExitLog } from "./_exit_log.ts";
import { Schedule } from "./_schedule.ts";

/** A script could not be started: the command or its folder is missing. */
export { SpawnError };

/** What a runner needs from the agent. */
export interface RunnerDeps {
  platform: Platform;
  events: EventLog;
  clock: Clock;
  /** Folder of the PID records. */
  pidDir: string;
  /** Folder of the script logs. */
  logDir: string;
  /** Extra environment for a script, e.g. its ping URL (`SCRIPTMON_PING_URL`). */
  scriptEnv?: (name: string) => Record<string, string>;
  /** Asked before every start: a script whose tokens are not usable waits (`waiting-for-token`). */
  tokens?: TokenGate;
}

/** One run of the script: a child we spawned or a process we adopted. */
interface Run {
  pid: number;
  startedAt: number;
  adopted: boolean;
  exited: Promise<RunEnd>;
  /** Its PID record is written (or on its way); false while a short-lived restart waits. */
  recorded: boolean;
  /** Aborted when it ends: a record still waiting is then never written. */
  ended?: AbortController;
}

const DRAIN_TIMEOUT_MS = 2000;
/**
 * A restart after a run shorter than `reset_after` writes its PID record once it has run this
 * long: such a restart is most often short again (a crash loop), and one that ends sooner never
 * needed a record (nor its removal). A first start, or one after a good run, is recorded at once.
 */
export const RECORD_RESTART_AFTER_MS = 1000;
/** How long a found folder and command are trusted before the next start looks again. */
const RECHECK_MS = 10_000;
/** A schedule that only ever falls on holidays runs anyway after this many skips in a row. */
const MAX_HOLIDAY_SKIPS = 10_000;
const STOPPED = Symbol("stopped");
const RECYCLED = Symbol("recycled");
const STABLE = Symbol("stable");
/** The reason of an abort nobody reads (one without a reason makes a DOMException, a stack). */
const FINISHED = Symbol("finished");

/** Supervises one script; see the module comment. */
export class ScriptRunner {
  #config: ResolvedScript;
  #deps: RunnerDeps;
  #log;
  #exitLog: ExitLog;
  /** What adopting and stopping the script's processes need. */
  #tree: AdoptContext;
  #backoff: Backoff;
  #state: ScriptState = "stopped";
  #reason: string | null = null;
  #run: Run | null = null;
  #lastExit: ExitInfo | null = null;
  #nextStartAt: number | null = null;
  #restarts = 0;
  /** When checkRunnable last passed; null: check at the next start. */
  #checkedAt: number | null = null;
  /** A crash-loop episode: it holds through the retries until a run lasts reset_after. */
  #crashLoop = false;
  /** Aborted (with the reason) when a check asks for the current run to be restarted. */
  #recycle: AbortController | null = null;
  #wanted = false;
  #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #ops: Promise<void> = Promise.resolve();
  #output: ScriptOutput;
  #background = new Set<Promise<unknown>>();
  #disposed = false;
  /** Resolves the pending `start()` once the first run is settled. */
  #settled: () => void = () => {};

  constructor(config: ResolvedScript, deps: RunnerDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = getLogger(["scriptmon", "script", config.name]);
    this.#exitLog = new ExitLog(this.#log, config.name);
    const { platform, clock, pidDir } = deps;
    this.#tree = { platform, clock, pidDir, logPath: this.logPath, log: this.#log, script: config };
    this.#output = new ScriptOutput({
      script: config,
      logPath: this.logPath,
      events: deps.events,
      clock,
      log: this.#log,
      onOutput: (at) => this.onOutput?.(at),
    });
    this.#backoff = new Backoff(config.restart);
    this.#reason = config.enabled ? null : "disabled";
  }

  /** The script's name. */
  get name(): string {
    return this.#config.name;
  }

  /** The script's config. */
  get config(): ResolvedScript {
    return this.#config;
  }

  /** The pid of the current run; null when none runs. */
  get pid(): number | null {
    return this.#run?.pid ?? null;
  }

  /** The current state. */
  get state(): ScriptState {
    return this.#state;
  }

  /** The path of the script's current log file. */
  get logPath(): string {
    return join(this.#deps.logDir, `${this.#config.name}.log`);
  }

  /** The last lines the script printed, oldest first. */
  get recentLines(): readonly OutputLine[] {
    return this.#output.recent;
  }

  /** Milliseconds since epoch of the last output line, or null. */
  get lastOutputAt(): number | null {
    return this.#output.lastAt;
  }

  /** Called with the time whenever the script printed (once per batch of lines). */
  onOutput: ((at: number) => void) | null = null;

  /**
   * Environment added to every start from now on, over `scriptEnv` and under
   * the script's own `env` (the site lease's `SCRIPTMON_REPLICA`); a run
   * already going keeps what it started with: restart it for the new one.
   */
  runEnv: Record<string, string> = {};

  /** A snapshot for `status` (the supervisor adds the health checks). */
  status(): RunnerStatus {
    const now = this.#deps.clock.now();
    const run = this.#run;
    return {
      name: this.#config.name,
      state: this.#state,
      enabled: this.#config.enabled,
      pid: run?.pid ?? null,
      adopted: run?.adopted ?? false,
      startedAt: run ? new Date(run.startedAt).toISOString() : null,
      uptimeMs: run ? now - run.startedAt : null,
      restarts: this.#restarts,
      crashLoop: this.#crashLoop,
      lastExit: this.#lastExit,
      nextStartAt: this.#nextStartAt ? new Date(this.#nextStartAt).toISOString() : null,
      reason: this.#reason,
      command: this.#config.command,
      logPath: this.logPath,
    };
  }

  /**
   * Starts supervising (adopting a running copy if there is one); resolves
   * once the first run is up, has failed, or waits for its schedule.
   */
  start(): Promise<void> {
    return this.#serial(() => this.#startNow());
  }

  /** Stops the script's whole process tree and keeps it stopped. */
  stop(reason = "stopped by request"): Promise<void> {
    return this.#serial(() => this.#stopNow(reason));
  }

  /**
   * Restarts the current run because a health check or a resource limit
   * says so: the run ends as a crash would, counted as a restart and seen by
   * the crash-loop detector (a leak restarted every few minutes escalates).
   */
  recycle(reason: string): Promise<void> {
    return this.#serial(() => {
      if (this.#run === null || this.#recycle === null) return;
      this.#recycle.abort(reason);
    });
  }

  /** Stops and starts again with a fresh backoff, as one step no other request can split. */
  restart(): Promise<void> {
    return this.#serial(async () => {
      await this.#stopNow("restarting");
      this.#backoff.reset();
      this.#crashLoop = false;
      await this.#startNow();
    });
  }

  /**
   * Why the script may not start now (outside its active hours), or null; asked on every
   * start, whoever asks for it (the supervisor, a lease, a command).
   */
  gate: (() => string | null) | null = null;

  async #startNow(): Promise<void> {
    if (this.#wanted) return;
    if (this.#disposed) {
      this.#log.warn("Not starting {script}: it was removed or replaced", { script: this.name });
      return;
    }
    const closed = this.gate?.() ?? null;
    if (closed !== null) {
      if (this.#reason !== closed) this.#setState("stopped", { reason: closed });
      return;
    }
    this.#wanted = true;
    this.#stop = new AbortController();
    const settled = Promise.withResolvers<void>();
    this.#settled = settled.resolve;
    this.#loop = this.#supervise(this.#stop.signal).catch((error) => {
      this.#log.error("Supervision of {script} failed: {error}", {
        script: this.name,
        error,
      });
      this.#setState("failed", { reason: String(error) });
    }).finally(settled.resolve);
    await settled.promise;
  }

  async #stopNow(reason: string): Promise<void> {
    if (!this.#wanted && !this.#loop) return;
    this.#wanted = false;
    this.#stop.abort();
    await this.#loop;
    this.#loop = null;
    this.#nextStartAt = null;
    // A person stopping the script ends a crash-loop episode.
    this.#crashLoop = false;
    this.#backoff.reset();
    this.#setState("stopped", { reason });
  }

  /** Stops the script and closes its log; it cannot be started again. */
  async dispose(reason = "agent shutting down"): Promise<void> {
    this.#disposed = true;
    await this.stop(reason);
    // Output still in the pipes is written first, unless something that left
    // the process group holds a pipe open: then the log closes without it.
    const settled = Promise.allSettled([...this.#background]);
    const timeout = new AbortController();
    await Promise.race([settled, this.#deps.clock.sleep(DRAIN_TIMEOUT_MS, timeout.signal)]);
    timeout.abort();
    await this.#output.close();
  }

  #serial(op: () => void | Promise<void>): Promise<void> {
    const next = this.#ops.then(op);
    this.#ops = next.catch(() => {});
    return next;
  }

  async #supervise(stop: AbortSignal): Promise<void> {
    const { clock } = this.#deps;
    const cron = this.#config.schedule ? new Schedule(this.#config.schedule) : null;
    let first = true;
    while (!stop.aborted) {
      let run = first ? await this.#adopt() : null;
      if (!run && cron) {
        this.#settled();
        if (!(await this.#waitForSchedule(cron, stop))) return;
      }
      first = false;
      if (!run && !(await this.#waitForTokens(stop))) return;
      run ??= await this.#spawn();
      this.#settled();
      if (!run) {
        if (!(await this.#backoffWait(clock.now(), stop))) return;
        continue;
      }
      const recycle = new AbortController();
      this.#recycle = recycle;
      let ended = await this.#watch(run, stop, recycle.signal);
      this.#recycle = null;
      if (ended === STOPPED) {
        await this.#terminate(run);
        return;
      }
      let recycled: string | null = null;
      if (ended === RECYCLED) {
        recycled = String(recycle.signal.reason);
        this.#setState("stopping", { pid: run.pid, reason: `restarting: ${recycled}` });
        ended = await stopTree(run, this.#tree);
      }
      this.#finishRun(run, ended, recycled);
      if (cron) {
        this.#reportSkippedTicks(cron, run.startedAt);
        continue;
      }
      // An adopted process's exit code cannot be known: not counted as a failure.
      const clean = ended.code === 0 || (run.adopted && ended.code === null && !ended.signal);
      const policy = this.#config.restart.policy;
      if (recycled === null && (policy === "never" || (policy === "on-failure" && clean))) {
        this.#setState(clean ? "exited" : "failed", { reason: `restart policy is "${policy}"` });
        this.#wanted = false;
        return;
      }
      if (!(await this.#backoffWait(run.startedAt, stop))) return;
    }
  }

  /**
   * Waits until the run ends, is stopped or recycled. During a crash loop a
   * run that lasts reset_after ends the episode: the script is running again.
   */
  async #watch(
    run: Run,
    stop: AbortSignal,
    recycle: AbortSignal,
  ): Promise<RunEnd | typeof STOPPED | typeof RECYCLED> {
    const { clock } = this.#deps;
    const done = new AbortController();
    try {
      const watching = [
        run.exited,
        abortion(stop, STOPPED, done.signal),
        abortion(recycle, RECYCLED, done.signal),
      ] as const;
      if (!this.#crashLoop) return await Promise.race(watching);
      const stableAt = run.startedAt + this.#config.restart.resetAfterMs;
      const stable = clock.sleep(Math.max(0, stableAt - clock.now()), done.signal)
        .then((): typeof STABLE => STABLE);
      const ended = await Promise.race([...watching, stable]);
      if (ended !== STABLE) return ended;
      this.#crashLoop = false;
      this.#backoff.reset();
      this.#log.info("{script} ran for {resetAfter}: the crash loop is over", {
        script: this.name,
        resetAfter: formatDuration(this.#config.restart.resetAfterMs),
      });
      this.#setState("running", { pid: run.pid, reason: "the crash loop is over" });
      return await Promise.race(watching);
    } finally {
      done.abort(FINISHED);
    }
  }

  /** Waits the backoff delay; false when stopped meanwhile. */
  async #backoffWait(startedAt: number, stop: AbortSignal): Promise<boolean> {
    const { clock } = this.#deps;
    const now = clock.now();
    const decision = this.#backoff.next(startedAt, now);
    const window = formatDuration(this.#config.restart.windowMs);
    const delay = formatDuration(decision.delayMs);
    if (decision.crashLooping && !this.#crashLoop) {
      this.#exitLog.crashLoopStarted(now);
      this.#log.warn(
        "{script} is crash-looping: {n} restarts within {window}; retrying every {delay}",
        { script: this.name, n: decision.restartsInWindow, window, delay },
      );
    }
    // Once in a crash loop, the episode holds through its retries (see #watch).
    this.#crashLoop ||= decision.crashLooping;
    // Counted when decided, so the count and the reason's "N within" agree at every moment.
    this.#restarts++;
    this.#nextStartAt = now + decision.delayMs;
    this.#setState(this.#crashLoop ? "crash-looping" : "backoff", {
      reason: `${decision.restartsInWindow} restarts within ${window}; next start in ${delay}`,
    });
    if (decision.delayMs > 0) await clock.sleep(decision.delayMs, stop);
    this.#nextStartAt = null;
    return !stop.aborted;
  }

  /**
   * Holds the start while a token the script uses is expired or invalid, in
   * `waiting-for-token` (no restart, no backoff counted); false when stopped
   * meanwhile. Each change of a token looks again.
   */
  async #waitForTokens(stop: AbortSignal): Promise<boolean> {
    const gate = this.#deps.tokens;
    if (!gate) return true;
    let waited = false;
    for (let why = gate.blocked(this.name); why !== null; why = gate.blocked(this.name)) {
      if (this.#state !== "waiting-for-token" || this.#reason !== why) {
        if (!waited) this.#log.warn("{script} waits: {why}", { script: this.name, why });
        this.#setState("waiting-for-token", { reason: why });
      }
      waited = true;
      this.#settled();
      await gate.changed(stop);
      if (stop.aborted) return false;
    }
    if (waited) {
      this.#log.info("{script}: its tokens are valid again; starting", { script: this.name });
    }
    return !stop.aborted;
  }

  /**
   * Waits for the next scheduled time, past those on holidays when the script skips them
   * (`skip_on`); false when stopped meanwhile.
   */
  async #waitForSchedule(cron: Schedule, stop: AbortSignal): Promise<boolean> {
    for (let skipped = 0; skipped < MAX_HOLIDAY_SKIPS; skipped++) {
      const tick = await this.#waitForTick(cron, stop);
      if (tick === null) return false;
      const holidays = this.#config.skipHolidays;
      if (holidays === undefined || !holidays.isHoliday(tick)) return true;
      const reason = `skipped its run of ${holidays.localDate(tick)}: a holiday of the ` +
        `${holidays.name} calendar`;
      this.#log.info("{script} {reason}", { script: this.name, reason });
      this.#setState("scheduled", { reason });
    }
    return !stop.aborted;
  }

  /** Waits for the next scheduled time and returns it; null when stopped meanwhile. */
  async #waitForTick(cron: Schedule, stop: AbortSignal): Promise<number | null> {
    const { clock } = this.#deps;
    const next = cron.next(clock.now());
    if (next === null) {
      this.#setState(this.#state === "failed" ? "failed" : "exited", {
        reason: "the schedule has no future run",
      });
      return null;
    }
    this.#nextStartAt = next;
    // A failed run stays visible as failed until the next run; otherwise it waits, scheduled.
    if (this.#state !== "failed" && this.#state !== "scheduled") {
      this.#setState("scheduled", { reason: "waiting for schedule" });
    }
    await clock.sleep(next - clock.now(), stop);
    this.#nextStartAt = null;
    return stop.aborted ? null : next;
  }

  /** A run that lasted past its next scheduled time: said, with its duration and period. */
  #reportSkippedTicks(cron: Schedule, startedAt: number): void {
    const now = this.#deps.clock.now();
    const skipped = cron.skipped(startedAt, now);
    if (skipped === 0) return;
    const period = cron.period(startedAt);
    const reason = `overran: the run took ${formatDuration(now - startedAt)}${
      period === null ? "" : ` against its schedule of every ${formatDuration(period)}`
    }; skipped ${skipped} scheduled ${skipped === 1 ? "run" : "runs"} (never two at once)`;
    this.#log.warn("{script} {reason}", { script: this.name, reason });
    this.#deps.events.append({ kind: "state", script: this.name, state: this.#state, reason });
  }

  /** Adopts a copy of this script that is already running, per its PID record. */
  async #adopt(): Promise<Run | null> {
    const adopted = await adoptRecorded(this.#tree);
    if (!adopted) return null;
    const { pid, startedAt, exited, reason } = adopted;
    const run: Run = { pid, startedAt, adopted: true, exited, recorded: true };
    this.#run = run;
    this.#setState("running", { pid, reason });
    return run;
  }

  async #spawn(): Promise<Run | null> {
    const cfg = this.#config;
    // A retry in a crash loop stays crash-looping until it lasts reset_after.
    const retrying = this.#crashLoop;
    this.#setState(retrying ? "crash-looping" : "starting", retrying ? { reason: "retrying" } : {});
    try {
      // The folder and command were there a moment ago: a crash loop skips the lookup (a stat
      // per PATH entry) for RECHECK_MS.
      const now = this.#deps.clock.now();
      if (this.#checkedAt === null || now - this.#checkedAt >= RECHECK_MS) {
        this.#checkedAt = null;
        await checkRunnable(cfg);
        this.#checkedAt = now;
      }
      await this.#output.open();
      const child = await spawnScript(cfg, this.#deps.platform, {
        ...this.#deps.scriptEnv?.(cfg.name),
        ...this.runEnv,
      });
      const startedAt = this.#deps.clock.now();
      this.#track(this.#output.capture(child));
      const run: Run = {
        pid: child.pid,
        startedAt,
        adopted: false,
        exited: child.status.then((s) => ({
          code: s.signal ? null : s.code,
          signal: s.signal,
        })),
        recorded: false,
      };
      this.#run = run;
      if (retrying) {
        const resetAfter = formatDuration(cfg.restart.resetAfterMs);
        this.#setState("crash-looping", {
          pid: child.pid,
          reason:
            `retry running (pid ${child.pid}); the crash loop ends once a run lasts ${resetAfter}`,
        });
      } else this.#setState("running", { pid: child.pid });
      this.#record(run);
      return run;
    } catch (error) {
      const reason = error instanceof SpawnError
        ? error.message
        : `Cannot start script "${cfg.name}": ${error instanceof Error ? error.message : error}`;
      this.#log.error(reason);
      this.#setState("failed", { reason });
      return null;
    }
  }

  /** Writes the PID record of a run just started: at once, or after a short run's restart later. */
  #record(run: Run): void {
    const write = () => {
      run.recorded = true;
      this.#track(recordChild(run.pid, run.startedAt, this.#tree));
    };
    const last = this.#lastExit;
    if (last === null || last.runtimeMs >= this.#config.restart.resetAfterMs) return write();
    const ended = new AbortController();
    run.ended = ended;
    this.#track(
      this.#deps.clock.sleep(RECORD_RESTART_AFTER_MS, ended.signal).then(() => {
        if (!ended.signal.aborted) write();
      }),
    );
  }

  /** A run ended (by itself, or `recycled` by a check: its reason). */
  #finishRun(run: Run, ended: RunEnd, recycled: string | null = null): void {
    this.#endRun(run, ended);
    const failed = ended.code !== 0;
    const how = recycled !== null
      ? `restarted: ${recycled}`
      : ended.signal
      ? `killed by ${ended.signal}`
      : `exited with code ${ended.code}`;
    if (this.#config.schedule) this.#setState(failed ? "failed" : "scheduled", { reason: how });
    else {
      this.#deps.events.append({
        kind: "exit",
        script: this.name,
        state: this.#state,
        pid: run.pid,
        exitCode: ended.code ?? undefined,
        signal: ended.signal ?? undefined,
        reason: how,
      });
    }
    if (recycled !== null) {
      this.#log.warn("{script} (pid {pid}) {how}", { script: this.name, pid: run.pid, how });
    } else if (ended.code === null && !ended.signal) {
      this.#log.info("Adopted {script} (pid {pid}) ended", { script: this.name, pid: run.pid });
    } else if (failed) {
      this.#exitLog.exit(run.pid, how, this.#crashLoop, this.#deps.clock.now());
    }
    run.ended?.abort(FINISHED);
    if (run.recorded) this.#track(removePidRecord(this.#deps.pidDir, this.name));
    // The leader is gone; whatever it left in its process group goes too.
    this.#track(reapGroup(run.pid, "orphaned", this.#tree));
  }

  /** Keeps how `run` ended as the last exit; no run is current any more. */
  #endRun(run: Run, ended: RunEnd): void {
    const now = this.#deps.clock.now();
    this.#lastExit = {
      at: new Date(now).toISOString(),
      code: ended.code,
      signal: ended.signal,
      runtimeMs: now - run.startedAt,
    };
    this.#run = null;
  }

  /** Stops a run's whole tree (stop signal, then SIGKILL), then what is left of its group. */
  async #terminate(run: Run): Promise<void> {
    this.#setState("stopping", { pid: run.pid });
    run.ended?.abort(FINISHED);
    this.#endRun(run, await stopTree(run, this.#tree));
    await reapGroup(run.pid, "remaining", this.#tree);
    await removePidRecord(this.#deps.pidDir, this.name);
  }

  #setState(
    state: ScriptState,
    detail: { pid?: number; reason?: string },
  ): void {
    const from = this.#state;
    this.#state = state;
    this.#reason = detail.reason ?? null;
    const exit = state === "stopped" || state === "exited" || state === "failed"
      ? this.#lastExit
      : null;
    this.#deps.events.append({
      kind: "state",
      script: this.name,
      from,
      state,
      pid: detail.pid,
      exitCode: exit?.code ?? undefined,
      signal: exit?.signal ?? undefined,
      reason: detail.reason,
    });
  }

  #track(p: Promise<unknown>): void {
    this.#background.add(p);
    p.finally(() => this.#background.delete(p));
  }
}

/** Resolves with `value` when `signal` aborts; `until` removes the listener. */
function abortion<T extends symbol>(signal: AbortSignal, value: T, until: AbortSignal): Promise<T> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(value);
    signal.addEventListener("abort", () => resolve(value), { once: true, signal: until });
  });
}

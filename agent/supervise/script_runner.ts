/**
 * Supervises one script: starts it, captures its output, restarts it with
 * backoff, notices a crash loop, stops its whole process tree, and adopts a
 * copy that is already running instead of starting a second one.
 *
 * Everything that touches the process happens in one loop (`#supervise`);
 * `start`, `stop` and `restart` only flip what is wanted and wake the loop,
 * and they are serialised so two callers can never race a second copy.
 */
import { getLogger } from "@logtape/logtape";
import { Cron } from "croner";
import { join } from "node:path";
import { Backoff } from "./backoff.ts";
import type { Clock } from "../clock.ts";
import type { ResolvedScript } from "../config/types.ts";
import type { EventLog } from "./event_log.ts";
import { findExecutable } from "../platform/find_executable.ts";
import { pumpLines } from "../logs/line_splitter.ts";
import { RotatingLogWriter } from "../logs/writer.ts";
import { readPidRecord, removePidRecord, verifyPidRecord, writePidRecord } from "./pid_records.ts";
import type { Platform } from "../platform/types.ts";
import type { TokenGate } from "../tokens/manager.ts";
import type { ExitInfo, RunnerStatus, ScriptState } from "./state.ts";
import { childEnv } from "../platform/child_env.ts";

/** A script could not be started: the command or its folder is missing. */
export class SpawnError extends Error {
  override name = "SpawnError";
}

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
  exited: Promise<{ code: number | null; signal: string | null }>;
}

const RECENT_LINES = 50;
const ADOPTED_POLL_MS = 1000;
const DRAIN_TIMEOUT_MS = 2000;
/** How long a killed tree may take to be reaped before stop gives up on it. */
const KILL_WAIT_MS = 5000;
const STOPPED = Symbol("stopped");

/** Supervises one script; see the module comment. */
export class ScriptRunner {
  #config: ResolvedScript;
  #deps: RunnerDeps;
  #log;
  #backoff: Backoff;
  #state: ScriptState = "stopped";
  #reason: string | null = null;
  #run: Run | null = null;
  #lastExit: ExitInfo | null = null;
  #nextStartAt: number | null = null;
  #restarts = 0;
  #crashLoop = false;
  #wanted = false;
  #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #ops: Promise<void> = Promise.resolve();
  #writer: RotatingLogWriter | null = null;
  #recent: { stream: "out" | "err"; line: string }[] = [];
  #lastOutputAt: number | null = null;
  #outputErrors = 0;
  #background = new Set<Promise<unknown>>();
  #disposed = false;
  /** Resolves the pending `start()` once the first run is settled. */
  #settled: () => void = () => {};

  constructor(config: ResolvedScript, deps: RunnerDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = getLogger(["scriptmon", "script", config.name]);
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

  /** The current state. */
  get state(): ScriptState {
    return this.#state;
  }

  /** The path of the script's current log file. */
  get logPath(): string {
    return join(this.#deps.logDir, `${this.#config.name}.log`);
  }

  /** The last lines the script printed, oldest first. */
  get recentLines(): readonly { stream: "out" | "err"; line: string }[] {
    return this.#recent;
  }

  /** Milliseconds since epoch of the last output line, or null. */
  get lastOutputAt(): number | null {
    return this.#lastOutputAt;
  }

  /** Called with the time whenever the script printed (once per batch of lines). */
  onOutput: ((at: number) => void) | null = null;

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
      // A run that has lasted reset_after has cleared the crash loop.
      crashLoop: this.#crashLoop &&
        !(run && now - run.startedAt >= this.#config.restart.resetAfterMs),
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

  /** Stops and starts again with a fresh backoff, as one step no other request can split. */
  restart(): Promise<void> {
    return this.#serial(async () => {
      await this.#stopNow("restarting");
      this.#backoff.reset();
      this.#crashLoop = false;
      await this.#startNow();
    });
  }

  async #startNow(): Promise<void> {
    if (this.#wanted) return;
    if (this.#disposed) {
      this.#log.warn("Not starting {script}: it was removed or replaced", { script: this.name });
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
    await this.#writer?.close();
    this.#writer = null;
  }

  #serial(op: () => void | Promise<void>): Promise<void> {
    const next = this.#ops.then(op);
    this.#ops = next.catch(() => {});
    return next;
  }

  async #supervise(stop: AbortSignal): Promise<void> {
    const { clock } = this.#deps;
    const cron = this.#config.schedule
      ? new Cron(this.#config.schedule.cron, {
        timezone: this.#config.schedule.timezone,
        paused: true,
      })
      : null;
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
      const ended = await Promise.race([run.exited, abortion(stop)]);
      if (ended === STOPPED) {
        await this.#terminate(run);
        return;
      }
      this.#finishRun(run, ended);
      if (cron) {
        this.#reportSkippedTicks(cron, run.startedAt);
        continue;
      }
      // An adopted process's exit code cannot be known: not counted as a failure.
      const clean = ended.code === 0 || (run.adopted && ended.code === null && !ended.signal);
      const policy = this.#config.restart.policy;
      if (policy === "never" || (policy === "on-failure" && clean)) {
        this.#setState(clean ? "exited" : "failed", { reason: `restart policy is "${policy}"` });
        this.#wanted = false;
        return;
      }
      if (!(await this.#backoffWait(run.startedAt, stop))) return;
    }
  }

  /** Waits the backoff delay; false when stopped meanwhile. */
  async #backoffWait(startedAt: number, stop: AbortSignal): Promise<boolean> {
    const { clock } = this.#deps;
    const now = clock.now();
    const decision = this.#backoff.next(startedAt, now);
    if (decision.crashLooping && !this.#crashLoop) {
      this.#log.warn(
        "{script} is crash-looping: {n} restarts within {window} ms; retrying every {delay} ms",
        {
          script: this.name,
          n: decision.restartsInWindow,
          window: this.#config.restart.windowMs,
          delay: decision.delayMs,
        },
      );
    }
    this.#crashLoop = decision.crashLooping;
    this.#nextStartAt = now + decision.delayMs;
    this.#setState(decision.crashLooping ? "crash-looping" : "backoff", {
      reason:
        `${decision.restartsInWindow} restarts within the window; next start in ${decision.delayMs} ms`,
    });
    if (decision.delayMs > 0) await clock.sleep(decision.delayMs, stop);
    this.#nextStartAt = null;
    this.#restarts++;
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

  /** Waits for the next scheduled time; false when stopped meanwhile. */
  async #waitForSchedule(cron: Cron, stop: AbortSignal): Promise<boolean> {
    const { clock } = this.#deps;
    const next = cron.nextRun(new Date(clock.now()));
    if (!next) {
      this.#setState(this.#state === "failed" ? "failed" : "exited", {
        reason: "the schedule has no future run",
      });
      return false;
    }
    this.#nextStartAt = next.getTime();
    if (this.#state === "stopped") this.#setState("exited", { reason: "waiting for schedule" });
    await clock.sleep(next.getTime() - clock.now(), stop);
    this.#nextStartAt = null;
    return !stop.aborted;
  }

  #reportSkippedTicks(cron: Cron, startedAt: number): void {
    const now = this.#deps.clock.now();
    let skipped = 0;
    let t = cron.nextRun(new Date(startedAt + 1));
    while (t && t.getTime() < now && skipped < 1000) {
      skipped++;
      t = cron.nextRun(t);
    }
    if (skipped === 0) return;
    this.#deps.events.append({
      kind: "state",
      script: this.name,
      state: this.#state,
      reason: `skipped ${skipped} scheduled run(s): the previous run was still running`,
    });
  }

  /** Adopts a copy of this script that is already running, per its PID record. */
  async #adopt(): Promise<Run | null> {
    const { pidDir, platform } = this.#deps;
    const { record, error } = await readPidRecord(pidDir, this.name);
    if (error) {
      this.#log.warn("Ignoring a corrupt PID record of {script}: {error}", {
        script: this.name,
        error,
      });
      await removePidRecord(pidDir, this.name);
    }
    if (!record) return null;
    const verdict = await verifyPidRecord(record, platform);
    if (verdict.status !== "alive") {
      await removePidRecord(pidDir, this.name);
      if (verdict.status === "gone") await this.#reapGroup(record.pid, "left over");
      else {
        this.#log.info("Ignoring the PID record of {script}: {reason}", {
          script: this.name,
          reason: verdict.reason,
        });
      }
      return null;
    }
    const startedAt = Date.parse(record.startedAt) || this.#deps.clock.now();
    const run: Run = {
      pid: record.pid,
      startedAt,
      adopted: true,
      exited: this.#watchAdopted(record.pid, verdict.info.startTime),
    };
    this.#run = run;
    this.#setState("running", {
      pid: run.pid,
      reason: `adopted (started by ${record.owner}, agent pid ${record.agentPid})`,
    });
    return run;
  }

  async #watchAdopted(pid: number, startTime: string) {
    const { platform, clock } = this.#deps;
    for (;;) {
      await clock.sleep(ADOPTED_POLL_MS);
      const info = await platform.inspect(pid);
      if (!info || info.startTime !== startTime) return { code: null, signal: null };
    }
  }

  async #spawn(): Promise<Run | null> {
    const { platform, clock, pidDir } = this.#deps;
    const cfg = this.#config;
    this.#setState("starting", {});
    try {
      await this.#checkRunnable();
      this.#writer ??= await RotatingLogWriter.open({ path: this.logPath, ...cfg.log });
      const { command, args } = platform.spawnCommand(cfg.command);
      const child = new Deno.Command(command, {
        args,
        cwd: cfg.cwd,
        clearEnv: true,
        env: childEnv({
          ...this.#deps.scriptEnv?.(cfg.name),
          ...cfg.env,
          SCRIPTMON_SCRIPT: cfg.name,
        }),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        detached: true,
      }).spawn();
      const startedAt = clock.now();
      const writer = this.#writer;
      const out = pumpLines(child.stdout, (lines) => this.#onLines(writer, "out", lines));
      const err = pumpLines(child.stderr, (lines) => this.#onLines(writer, "err", lines));
      this.#track(Promise.all([out, err]));
      const run: Run = {
        pid: child.pid,
        startedAt,
        adopted: false,
        exited: child.status.then((s) => ({
          code: s.signal ? null : s.code,
          signal: s.signal,
        })),
      };
      this.#run = run;
      this.#setState("running", { pid: child.pid });
      this.#track(
        this.#recordPid(child.pid, startedAt).catch((error) => {
          this.#log.error("Cannot write the PID record of {script} in {dir}: {error}", {
            script: cfg.name,
            dir: pidDir,
            error,
          });
        }),
      );
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

  async #checkRunnable(): Promise<void> {
    const cfg = this.#config;
    try {
      if (!(await Deno.stat(cfg.cwd)).isDirectory) throw new Error("not a folder");
    } catch {
      throw new SpawnError(`Cannot start script "${cfg.name}": cwd "${cfg.cwd}" is not a folder`);
    }
    const found = await findExecutable(cfg.command[0], {
      cwd: cfg.cwd,
      path: cfg.env.PATH ?? Deno.env.get("PATH"),
      pathExt: Deno.env.get("PATHEXT"),
    });
    if (!found) {
      throw new SpawnError(
        `Cannot start script "${cfg.name}": command "${cfg.command[0]}" not found`,
      );
    }
  }

  async #recordPid(pid: number, startedAt: number): Promise<void> {
    const info = await this.#deps.platform.inspect(pid);
    if (!info) return; // already gone; nothing to adopt later
    await writePidRecord(this.#deps.pidDir, {
      script: this.name,
      pid,
      startTime: info.startTime,
      argv: this.#config.command,
      owner: "daemon",
      agentPid: Deno.pid,
      startedAt: new Date(startedAt).toISOString(),
      logPath: this.logPath,
    });
  }

  #onLines(writer: RotatingLogWriter, stream: "out" | "err", lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    this.#lastOutputAt = this.#deps.clock.now();
    this.onOutput?.(this.#lastOutputAt);
    for (const line of lines.slice(-RECENT_LINES)) this.#recent.push({ stream, line });
    if (this.#recent.length > RECENT_LINES) {
      this.#recent.splice(0, this.#recent.length - RECENT_LINES);
    }
    return writer.write(stream, lines).catch((error) => {
      // A full disk must not stop the script: count, report now and then, go on.
      if (this.#outputErrors++ % 1000 === 0) {
        this.#log.error("Cannot write the log of {script}: {error}", { script: this.name, error });
        this.#deps.events.append({
          kind: "output-error",
          script: this.name,
          reason: `${this.#outputErrors} log write(s) failed: ${error}`,
        });
      }
    });
  }

  #finishRun(run: Run, ended: { code: number | null; signal: string | null }): void {
    const now = this.#deps.clock.now();
    this.#lastExit = {
      at: new Date(now).toISOString(),
      code: ended.code,
      signal: ended.signal,
      runtimeMs: now - run.startedAt,
    };
    this.#run = null;
    const failed = ended.code !== 0;
    const how = ended.signal ? `killed by ${ended.signal}` : `exited with code ${ended.code}`;
    if (this.#config.schedule) this.#setState(failed ? "failed" : "exited", { reason: how });
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
    if (ended.code === null && !ended.signal) {
      this.#log.info("Adopted {script} (pid {pid}) ended", { script: this.name, pid: run.pid });
    } else if (failed) {
      this.#log.warn("{script} (pid {pid}) {how}", { script: this.name, pid: run.pid, how });
    }
    this.#track(removePidRecord(this.#deps.pidDir, this.name));
    // The leader is gone; whatever it left in its process group goes too.
    this.#track(this.#reapGroup(run.pid, "orphaned"));
  }

  /** Stops what is left of a process group whose leader has ended. */
  async #reapGroup(pgid: number, what: string): Promise<void> {
    const { platform, clock } = this.#deps;
    const members = await platform.groupMembers(pgid);
    if (members.length === 0) return;
    this.#log.info("Stopping {n} {what} process(es) of {script}: {pids}", {
      n: members.length,
      what,
      script: this.name,
      pids: members.join(", "),
    });
    await platform.signalTree(pgid, this.#config.stopSignal).catch(() => {});
    for (let waited = 0; waited < this.#config.stopTimeoutMs; waited += 50) {
      if ((await platform.groupMembers(pgid)).length === 0) return;
      await clock.sleep(50);
    }
    await platform.killTree(pgid).catch(() => {});
  }

  /** Stops a run's whole tree: stop signal, then SIGKILL after stop_timeout. */
  async #terminate(run: Run): Promise<void> {
    const { platform, clock } = this.#deps;
    const cfg = this.#config;
    this.#setState("stopping", { pid: run.pid });
    await platform.signalTree(run.pid, cfg.stopSignal).catch(() => {});
    const timeout = new AbortController();
    const ended = await Promise.race([
      run.exited,
      clock.sleep(cfg.stopTimeoutMs, timeout.signal).then(() => STOPPED),
    ]);
    timeout.abort();
    if (ended === STOPPED) {
      this.#log.warn("{script} (pid {pid}) ignored {signal} for {ms} ms; killing its tree", {
        script: this.name,
        pid: run.pid,
        signal: cfg.stopSignal,
        ms: cfg.stopTimeoutMs,
      });
      await platform.killTree(run.pid).catch(() => {});
    }
    let result = typeof ended === "symbol" ? null : ended;
    if (!result) {
      const wait = new AbortController();
      result = await Promise.race([
        run.exited,
        clock.sleep(KILL_WAIT_MS, wait.signal).then(() => null),
      ]);
      wait.abort();
      if (!result) {
        this.#log.error(
          "{script} (pid {pid}) is still alive {ms} ms after SIGKILL; giving up on it",
          {
            script: this.name,
            pid: run.pid,
            ms: KILL_WAIT_MS,
          },
        );
        result = { code: null, signal: null };
      }
    }
    const now = clock.now();
    this.#lastExit = {
      at: new Date(now).toISOString(),
      code: result.code,
      signal: result.signal,
      runtimeMs: now - run.startedAt,
    };
    this.#run = null;
    await this.#reapGroup(run.pid, "remaining");
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

function abortion(signal: AbortSignal): Promise<typeof STOPPED> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(STOPPED);
    signal.addEventListener("abort", () => resolve(STOPPED), { once: true });
  });
}

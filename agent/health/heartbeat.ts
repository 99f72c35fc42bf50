/**
 * The heartbeat check, a dead-man's switch as Healthchecks.io does it: the
 * script pings (or touches its heartbeat file) at least every
 * `heartbeat_timeout`; `grace` more and it is unhealthy. For a scheduled
 * script the expectation follows its runs: each run must ping success
 * within timeout + grace of its start, so a run that started and never
 * finished is caught too.
 *
 * Pure state: the monitor feeds it runs, pings and the time, and arms one
 * timer at `deadline()`.
 */
import { formatDuration } from "../../shared/config/units.ts";
import type { ResolvedHeartbeat } from "../../shared/agent_config/types.ts";
import { initialState, nextState } from "./check_state.ts";
import { type CheckState, type CheckStatus, type HeartbeatInfo, PING_BODY_LIMIT } from "./types.ts";

/** What a ping says. */
export type PingKind = "success" | "start" | "fail";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Heartbeat state of one script. */
export class HeartbeatCheck {
  #config: ResolvedHeartbeat;
  #scheduled: boolean;
  #runStartedAt: number | null = null;
  #lastPing: number | null = null;
  #lastStart: number | null = null;
  #lastFail: number | null = null;
  #lastMessage: string | null = null;
  #pings = 0;
  #failed = false;
  #state: CheckState;

  constructor(config: ResolvedHeartbeat, options: { scheduled: boolean; now: number }) {
    this.#config = config;
    this.#scheduled = options.scheduled;
    this.#state = initialState(
      "heartbeat",
      options.now,
      (config.timeoutMs + config.graceMs) / 1000,
    );
  }

  /**
   * How many times longer the timeout and grace are now (`relax_factor` outside the script's
   * active hours with `off_hours = "relax"`); set by the monitor before it looks.
   */
  stretch = 1;

  /** The check's current state. */
  get state(): CheckState {
    return this.#state;
  }

  /** What was heard so far. */
  info(): HeartbeatInfo {
    return {
      lastPingAt: iso(this.#lastPing),
      lastStartAt: iso(this.#lastStart),
      lastFailAt: iso(this.#lastFail),
      lastMessage: this.#lastMessage,
      pings: this.#pings,
    };
  }

  /** Milliseconds since epoch of the last success ping, or null. */
  get lastPingAt(): number | null {
    return this.#lastPing;
  }

  /** A run started at `at`; the timeout counts from here until the next ping. */
  runStarted(at: number): void {
    this.#runStartedAt = at;
    this.#failed = false;
  }

  /** The script is not running; the check waits. */
  runEnded(at: number): CheckState | null {
    const ranWithoutPing = this.#scheduled && this.#runStartedAt !== null &&
      (this.#lastPing === null || this.#lastPing < this.#runStartedAt);
    const started = this.#runStartedAt;
    this.#runStartedAt = null;
    if (ranWithoutPing && started !== null) {
      return this.#set(
        "failing",
        `the run started ${this.#ago(started, at)} ago ended without a ping`,
        at,
      );
    }
    // A scheduled script keeps its last verdict between runs; others wait.
    return this.#scheduled ? null : this.#set("unknown", "not running", at);
  }

  /** A ping arrived (HTTP, or the heartbeat file changed) at `at`. */
  ping(kind: PingKind, at: number, body: string | null = null): CheckState | null {
    if (body !== null && body !== "") this.#lastMessage = body.slice(0, PING_BODY_LIMIT);
    if (kind === "start") {
      this.#lastStart = at;
      if (this.#scheduled) this.#runStartedAt = at;
      return this.evaluate(at);
    }
    this.#pings++;
    if (kind === "fail") {
      this.#lastFail = at;
      this.#failed = true;
      const said = body ? `: ${body.slice(0, 200)}` : "";
      return this.#set("failing", `the script reported a failure${said}`, at);
    }
    this.#lastPing = at;
    this.#failed = false;
    return this.evaluate(at);
  }

  /**
   * When the check next needs a look (ms since epoch), or null when nothing
   * is pending: not running, or a scheduled run that already pinged.
   */
  deadline(): number | null {
    if (this.#runStartedAt === null || this.#failed) return null;
    const { timeoutMs, graceMs } = this.#limits();
    const from = Math.max(this.#runStartedAt, this.#lastPing ?? 0);
    if (this.#scheduled && (this.#lastPing ?? 0) >= this.#runStartedAt) return null;
    return from + timeoutMs + graceMs;
  }

  /**
   * When the monitor should look next: the deadline, or null once the check
   * is failing (only a ping changes it then, and a ping re-arms the timer).
   */
  nextCheckAt(): number | null {
    return this.#state.status === "failing" ? null : this.deadline();
  }

  /** Re-evaluates at `at`; returns the new state when it changed. */
  evaluate(at: number): CheckState | null {
    if (this.#failed) return null;
    if (this.#runStartedAt === null) return null;
    const deadline = this.deadline();
    const { timeoutMs, graceMs } = this.#limits();
    const limits = `timeout ${formatDuration(timeoutMs)} + grace ${formatDuration(graceMs)}` +
      (this.stretch === 1 ? "" : `, ${this.stretch}× outside its active hours`);
    if (deadline !== null && at >= deadline) {
      const from = Math.max(this.#runStartedAt, this.#lastPing ?? 0);
      const what = this.#scheduled
        ? `the run started ${this.#ago(this.#runStartedAt, at)} ago has not pinged`
        : this.#lastPing === null || this.#lastPing < this.#runStartedAt
        ? `no ping since the start ${this.#ago(from, at)} ago`
        : `no ping for ${this.#ago(from, at)}`;
      return this.#set("failing", `${what} (${limits})`, at, (at - from) / 1000);
    }
    if (this.#lastPing !== null && this.#lastPing >= this.#runStartedAt) {
      return this.#set(
        "ok",
        `last ping ${this.#ago(this.#lastPing, at)} ago`,
        at,
        (at - this.#lastPing) / 1000,
      );
    }
    if (this.#scheduled && this.#lastPing !== null) return null;
    return this.#set("unknown", "waiting for the first ping of this run", at);
  }

  #limits(): { timeoutMs: number; graceMs: number } {
    const { timeoutMs, graceMs } = this.#config;
    return { timeoutMs: timeoutMs * this.stretch, graceMs: graceMs * this.stretch };
  }

  #ago(from: number, at: number): string {
    return formatDuration(Math.max(0, at - from));
  }

  #set(status: CheckStatus, reason: string, at: number, value?: number): CheckState | null {
    const changed = this.#state.status !== status;
    this.#state = nextState(this.#state, { status, reason, at, value });
    return changed ? this.#state : null;
  }
}

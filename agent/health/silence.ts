/**
 * Hang by silence: a running script that prints no line for
 * `silence_timeout` is taken as hung. Pure state, like the heartbeat: the
 * monitor tells it about runs and output and arms a timer at `deadline()`.
 */
import { formatDuration } from "../../shared/config/units.ts";
import type { ResolvedSilence } from "../../shared/agent_config/types.ts";
import { initialState, nextState } from "./check_state.ts";
import type { CheckState } from "./types.ts";

/** Silence state of one script. */
export class SilenceCheck {
  #timeoutMs: number;
  #since: number | null = null;
  #state: CheckState;

  constructor(config: ResolvedSilence, options: { now: number }) {
    this.#timeoutMs = config.timeoutMs;
    this.#state = initialState("silence", options.now, config.timeoutMs / 1000);
  }

  /** The check's current state. */
  get state(): CheckState {
    return this.#state;
  }

  /** A run started at `at`: silence counts from here. */
  runStarted(at: number): void {
    this.#since = at;
  }

  /** The script is not running. */
  runEnded(at: number): CheckState | null {
    this.#since = null;
    return this.#set("unknown", "not running", at);
  }

  /** The script printed a line at `at`; returns the new state if that ended a silence. */
  output(at: number): CheckState | null {
    if (this.#since === null) return null;
    this.#since = at;
    return this.#state.status === "ok" ? null : this.#set("ok", this.#okReason(), at, 0);
  }

  /** When silence would become a hang, or null when not running. */
  deadline(): number | null {
    return this.#since === null ? null : this.#since + this.#timeoutMs;
  }

  /** When the monitor should look next; null once hung (only output changes it then). */
  nextCheckAt(): number | null {
    return this.#state.status === "failing" ? null : this.deadline();
  }

  /** Re-evaluates at `at`; returns the new state when it changed. */
  evaluate(at: number): CheckState | null {
    if (this.#since === null) return null;
    const quiet = at - this.#since;
    if (quiet >= this.#timeoutMs) {
      return this.#set(
        "failing",
        `no output for ${formatDuration(quiet)} (silence_timeout ${
          formatDuration(this.#timeoutMs)
        })`,
        at,
        quiet / 1000,
      );
    }
    return this.#set("ok", this.#okReason(), at, quiet / 1000);
  }

  // Not "last output 3s ago": the reason is kept until the status changes.
  #okReason(): string {
    return `printing (silence_timeout ${formatDuration(this.#timeoutMs)})`;
  }

  #set(status: CheckState["status"], reason: string, at: number, value?: number) {
    const changed = this.#state.status !== status;
    this.#state = nextState(this.#state, { status, reason, at, value });
    return changed ? this.#state : null;
  }
}

/**
 * Restart backoff and crash-loop detection for one script, as pure state:
 * the supervisor tells it when runs start and end, it answers how long to
 * wait before the next start and whether the script is crash-looping.
 */
import type { ResolvedRestartPolicy } from "../../shared/agent_config/types.ts";

/** What to do after a run ended. */
export interface RestartDecision {
  /** Milliseconds to wait before starting again. */
  delayMs: number;
  /** More than `maxRestarts` restarts happened within `window`. */
  crashLooping: boolean;
  /** Restarts counted inside the current window, this one included. */
  restartsInWindow: number;
}

/** Backoff state of one script. */
export class Backoff {
  #policy: ResolvedRestartPolicy;
  #random: () => number;
  #attempt = 0;
  #restarts: number[] = [];

  /** `random` returns a number in [0, 1), like Math.random (the default). */
  constructor(policy: ResolvedRestartPolicy, options: { random?: () => number } = {}) {
    this.#policy = policy;
    this.#random = options.random ?? Math.random;
  }

  /** Consecutive failed runs since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * A run that started at `startedAt` ended at `endedAt` (ms since epoch):
   * decide the delay before the next start. A run that lasted `reset_after`
   * resets the backoff; delays grow by `multiplier` from `min_delay` up to
   * `max_delay`, spread by `jitter`; a crash loop waits `max_delay`.
   */
  next(startedAt: number, endedAt: number): RestartDecision {
    const p = this.#policy;
    if (endedAt - startedAt >= p.resetAfterMs) this.#attempt = 0;
    // Oldest first: drop from the front (a crash loop's window holds hundreds; a filter copied
    // them all at every exit).
    while (this.#restarts.length > 0 && endedAt - this.#restarts[0] >= p.windowMs) {
      this.#restarts.shift();
    }
    this.#restarts.push(endedAt);
    const crashLooping = this.#restarts.length > p.maxRestarts;
    const base = crashLooping
      ? p.maxDelayMs
      : Math.min(p.maxDelayMs, p.minDelayMs * p.multiplier ** this.#attempt);
    this.#attempt++;
    const spread = 1 + p.jitter * (2 * this.#random() - 1);
    const delayMs = Math.round(Math.min(p.maxDelayMs, Math.max(0, base * spread)));
    return { delayMs, crashLooping, restartsInWindow: this.#restarts.length };
  }

  /** Forget all history, as after a manual restart or a config change. */
  reset(): void {
    this.#attempt = 0;
    this.#restarts = [];
  }
}

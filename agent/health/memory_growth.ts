/**
 * A script's memory climbing steadily toward its limit, said before it gets
 * there: `grows ~30 MB/h; reaches 500 MB in about 3 h (memory_restart)`.
 * Kept for scripts with `memory_warn` or `memory_restart`: one sample a
 * minute of the current run, the last six hours, projected with
 * `projectGrowth` (a least-squares line that must fit, see
 * `shared/trends/predict.ts`). A warning while the projection holds; `ok`
 * once it does not (the climb stopped, or was a sawtooth all along).
 *
 * @module
 */
import type { ResolvedLimits } from "../../shared/agent_config/types.ts";
import { type MemorySample, projectGrowth } from "../../shared/trends/mod.ts";
import { initialState, nextState } from "./check_state.ts";
import type { CheckState } from "./types.ts";

/** One sample a minute is kept. */
const EVERY_MS = 60_000;
/** Samples older than this are dropped (360 at most). */
const KEEP_MS = 6 * 3_600_000;

/** The projection of one script's memory; see the module comment. */
export class MemoryGrowth {
  /** The limits set, nearest first. */
  #limits: { bytes: number; key: string }[];
  #samples: MemorySample[] = [];
  #state: CheckState;

  /**
   * `limits` must set `memoryWarnBytes` or `memoryRestartBytes`; the nearest one above the
   * memory now is the one projected to.
   */
  constructor(limits: ResolvedLimits, now: number) {
    this.#limits = [
      { bytes: limits.memoryWarnBytes, key: "memory_warn" },
      { bytes: limits.memoryRestartBytes, key: "memory_restart" },
    ].filter((l): l is { bytes: number; key: string } => l.bytes !== undefined)
      .sort((a, b) => a.bytes - b.bytes);
    this.#state = initialState("memory-growth", now, this.#limits[0].bytes);
  }

  /** The check's state. */
  get state(): CheckState {
    return this.#state;
  }

  /** A new run: the old process's memory says nothing about the new one. */
  reset(): void {
    this.#samples = [];
  }

  /** One sample of the run's memory; the new state when it changed. */
  sample(rssBytes: number, at: number): CheckState | null {
    const last = this.#samples.at(-1);
    if (last !== undefined && at - last.at < EVERY_MS) return null;
    this.#samples.push({ at, bytes: rssBytes });
    while (this.#samples.length > 0 && this.#samples[0].at < at - KEEP_MS) this.#samples.shift();
    // Past every limit: the memory check itself says so.
    const limit = this.#limits.find((l) => l.bytes > rssBytes);
    const growth = limit === undefined ? null : projectGrowth(this.#samples, limit.bytes, at);
    const previous = this.#state;
    this.#state = growth === null
      ? nextState(previous, { status: "ok", reason: "no steady climb", at, value: rssBytes })
      : nextState(previous, {
        status: "warning",
        reason: `${growth.message} (${limit!.key})`,
        at,
        value: rssBytes,
      });
    return previous.status === this.#state.status ? null : this.#state;
  }
}

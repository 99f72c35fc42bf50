/**
 * In-process wake-ups for the commands long-poll: an agent's request waits
 * here until a command is queued for it, the wait runs out, or the client
 * goes away. The number of open waits is capped.
 *
 * @module
 */

/** How one wait ended. */
export type WaitOutcome = "woken" | "timeout" | "aborted" | "closed";

/** One open wait: register before reading the queue, so no wake-up is missed. */
export interface Waiter {
  /** Settles once, with how the wait ended. */
  readonly outcome: Promise<WaitOutcome>;
  /** Ends the wait now (as "closed") and frees its slot. */
  close(): void;
}

/** Waiters per agent key (`site/host`), at most `max` at once. */
export class CommandWaiters {
  #byKey = new Map<string, Set<(outcome: WaitOutcome) => void>>();
  #count = 0;
  #max: number;
  #closed = false;

  /** `max`: open waits allowed at once. */
  constructor(options: { max: number }) {
    this.#max = options.max;
  }

  /** Open waits. */
  get size(): number {
    return this.#count;
  }

  /**
   * Starts a wait of at most `ms` for `key`; null when `max` waits are open.
   * `signal` (the request's) ends it early as "aborted".
   */
  open(key: string, ms: number, signal?: AbortSignal): Waiter | null {
    if (this.#closed) return { outcome: Promise.resolve("closed"), close: () => {} };
    // One agent keeps one wait: a newer one ends the older ("timeout": it just polls again),
    // so no single agent can use up the slots of the others.
    for (const older of [...(this.#byKey.get(key) ?? [])]) older("timeout");
    if (this.#count >= this.#max) return null;
    let settle!: (outcome: WaitOutcome) => void;
    const outcome = new Promise<WaitOutcome>((resolve) => {
      settle = resolve;
    });
    const set = this.#byKey.get(key) ?? new Set();
    this.#byKey.set(key, set);
    this.#count++;
    let open = true;
    const finish = (how: WaitOutcome) => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      set.delete(finish);
      if (set.size === 0 && this.#byKey.get(key) === set) this.#byKey.delete(key);
      this.#count--;
      settle(how);
    };
    const onAbort = () => finish("aborted");
    const timer = setTimeout(() => finish("timeout"), ms);
    set.add(finish);
    if (signal?.aborted) finish("aborted");
    else signal?.addEventListener("abort", onAbort, { once: true });
    return { outcome, close: () => finish("closed") };
  }

  /** Wakes every wait on `key`; returns how many. */
  wake(key: string): number {
    const set = this.#byKey.get(key);
    if (set === undefined) return 0;
    const all = [...set];
    for (const finish of all) finish("woken");
    return all.length;
  }

  /** Ends every wait, and every later one at once (shutdown). */
  closeAll(): void {
    this.#closed = true;
    for (const set of [...this.#byKey.values()]) for (const finish of [...set]) finish("closed");
  }
}

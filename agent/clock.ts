/** Time as a seam: the supervisor waits through this, tests may pass their own. */

/** Reads the time and waits. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

// setTimeout takes at most a signed 32-bit delay; longer waits are chained.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(
        () =>
          (ms > MAX_TIMEOUT_MS ? systemClock.sleep(ms - MAX_TIMEOUT_MS, signal) : Promise.resolve())
            .then(done),
        Math.min(ms, MAX_TIMEOUT_MS),
      );
      signal?.addEventListener("abort", done, { once: true });
    });
  },
};

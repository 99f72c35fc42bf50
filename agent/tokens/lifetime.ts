/**
 * Learns how long a token lives when it does not say so: each observed
 * lifetime (from the moment a token value appeared to the moment it stopped
 * working) is kept; the prediction is their median, and its confidence grows
 * with the number of observations and shrinks with their spread.
 *
 * @module
 */

/** A predicted lifetime. */
export interface LifetimePrediction {
  lifetimeMs: number;
  /** 0..1. */
  confidence: number;
  /** Observations it rests on. */
  observations: number;
}

/** Lifetimes remembered per token. */
export const MAX_OBSERVATIONS = 10;
/** Shorter "lifetimes" are noise (a token replaced while being read). */
const MIN_LIFETIME_MS = 1000;

/** The observed lifetimes of one token; see the module comment. */
export class LifetimeModel {
  #observed: number[];

  /** Starts from lifetimes saved earlier (`observations()`), oldest first. */
  constructor(observed: readonly number[] = []) {
    this.#observed = observed.filter((ms) => Number.isFinite(ms) && ms >= MIN_LIFETIME_MS)
      .slice(-MAX_OBSERVATIONS);
  }

  /** Records one lifetime; false when it was too short to count. */
  observe(lifetimeMs: number): boolean {
    if (!Number.isFinite(lifetimeMs) || lifetimeMs < MIN_LIFETIME_MS) return false;
    this.#observed.push(Math.round(lifetimeMs));
    if (this.#observed.length > MAX_OBSERVATIONS) this.#observed.shift();
    return true;
  }

  /** The lifetimes, oldest first, to save. */
  observations(): number[] {
    return [...this.#observed];
  }

  /** The predicted lifetime, or null before the first observation. */
  predict(): LifetimePrediction | null {
    const n = this.#observed.length;
    if (n === 0) return null;
    const sorted = [...this.#observed].sort((a, b) => a - b);
    const median = n % 2 === 1
      ? sorted[(n - 1) / 2]
      : Math.round((sorted[n / 2 - 1] + sorted[n / 2]) / 2);
    const mean = sorted.reduce((a, b) => a + b, 0) / n;
    const spread = Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / n) / mean;
    const confidence = (1 - 1 / (n + 1)) * Math.max(0, 1 - spread);
    return {
      lifetimeMs: median,
      confidence: Math.round(confidence * 100) / 100,
      observations: n,
    };
  }
}

/**
 * Work one at a time per key: what is queued under a key starts once the work queued before it
 * under that key has settled (resolved or not); other keys' work goes on meanwhile.
 *
 * @module
 */

/** See the module comment. */
export class PerKeyQueue {
  /** Each key's last work, settled never rejecting; gone once it settled with none after it. */
  #tails = new Map<string, Promise<void>>();

  /** Runs `work` after the work queued before under `key`; its result, as it settles. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key);
    const result = before === undefined ? work() : before.then(work);
    const tail = result.then(() => {}, () => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with work queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}

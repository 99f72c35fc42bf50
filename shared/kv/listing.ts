/**
 * A KV listing over a store kept in key order (the SQL-backed stores): pages of `batchSize`
 * keys, `limit`, `reverse` and `cursor` as Deno KV has them. The store reads one page of a key
 * range (`readPage`) and makes an entry of a row (`toEntry`); the paging is here.
 *
 * @module
 */

import { fromBase64url, listRange, toBase64url } from "./selector.ts";

/** One page to read: keys in `[from, to)` (`from` excluded when `after`), in order, at most `take`. */
export interface PageRange {
  from: Uint8Array;
  after: boolean;
  to: Uint8Array;
  reverse: boolean;
  take: number;
}

/** A listing read in pages; see the module comment. */
export class PagedListing<T, R extends { key: Uint8Array }>
  implements AsyncIterableIterator<Deno.KvEntry<T>> {
  #readPage: (range: PageRange) => R[] | Promise<R[]>;
  #toEntry: (row: R) => Deno.KvEntry<T>;
  #from: Uint8Array;
  #after: boolean;
  #to: Uint8Array;
  #reverse: boolean;
  #left: number;
  #batch: number;
  #page: R[] = [];
  #done = false;
  #last: Uint8Array | null = null;

  constructor(
    selector: Deno.KvListSelector,
    options: Deno.KvListOptions,
    readPage: (range: PageRange) => R[] | Promise<R[]>,
    toEntry: (row: R) => Deno.KvEntry<T>,
  ) {
    this.#readPage = readPage;
    this.#toEntry = toEntry;
    const { from, after, to } = listRange(selector);
    this.#from = from;
    this.#after = after;
    this.#to = to;
    this.#reverse = options.reverse ?? false;
    this.#left = options.limit ?? Infinity;
    this.#batch = Math.max(1, Math.min(options.batchSize ?? 500, 1000));
    if (options.cursor !== undefined) {
      const at = fromBase64url(options.cursor);
      if (this.#reverse) this.#to = at;
      else {
        this.#from = at;
        this.#after = true;
      }
    }
  }

  /** Where the next listing with the same selector picks up. */
  get cursor(): string {
    if (this.#last === null) throw new Error("The listing has not returned an entry yet");
    return toBase64url(this.#last);
  }

  async #fetch(): Promise<void> {
    const take = Math.min(this.#batch, this.#left);
    this.#page = await this.#readPage({
      from: this.#from,
      after: this.#after,
      to: this.#to,
      reverse: this.#reverse,
      take,
    });
    if (this.#page.length < take) this.#done = true;
    const last = this.#page.at(-1);
    if (last === undefined) return;
    // The next page starts past the last key read.
    if (this.#reverse) this.#to = new Uint8Array(last.key);
    else {
      this.#from = new Uint8Array(last.key);
      this.#after = true;
    }
  }

  async next(): Promise<IteratorResult<Deno.KvEntry<T>, undefined>> {
    if (this.#page.length === 0 && !this.#done && this.#left > 0) await this.#fetch();
    const row = this.#page.shift();
    if (row === undefined || this.#left <= 0) return { done: true, value: undefined };
    this.#left--;
    this.#last = new Uint8Array(row.key);
    return { done: false, value: this.#toEntry(row) };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Deno.KvEntry<T>> {
    return this;
  }
}

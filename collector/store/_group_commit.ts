/**
 * Group commit: ingests that arrive while a commit is on disk wait for it and
 * then share the next one, so a busy collector pays one transaction and one
 * `fsync` for many ingests instead of one each (on a Deno KV file, SQLite's;
 * on PostgreSQL, one `kv_commit` call of each replica). Every caller is
 * answered only after the commit holding its writes is durable.
 *
 * When ingests come steadily but a few at a time (tens to hundreds a second:
 * each commit done before the next few arrive), the waiting batches linger
 * for company, as PostgreSQL's `commit_delay` does with `commit_siblings`:
 * the next commit begins when the first of them has waited
 * {@linkcode COMMIT_DELAY_MS} or {@linkcode GATHER_AT} batches wait,
 * whichever comes first. They linger only while company has been seen
 * lately (the last commit, begun less than {@linkcode BUSY_WITHIN_MS} ago,
 * was shared, or a batch arrived while it was in flight): a lone ingest on a
 * quiet collector, or one caller's ingests one after another, are committed
 * at once. On this machine a commit costs PostgreSQL and the collector much
 * the same CPU whether it holds two ingests or ten, so fewer, fuller commits
 * are what a steady rate is cheaper by: at 250 ingests a second 20 ms of
 * waiting makes 6 ingests a commit instead of 3 (8 ms) and takes a quarter
 * off both processes' CPU an ingest, for 6 ms more at the median
 * (bench/README.md). Under load the commits fill before the wait is up.
 *
 * Under heavy load a second commit begins while the first is on disk, once
 * {@linkcode SECOND_COMMIT_AT} batches wait: the JavaScript thread builds and
 * hands over the next commit while the store's writer (SQLite's thread, or a
 * second database connection) works on the first, instead of each waiting
 * for the other. At most {@linkcode MAX_IN_FLIGHT} commits are in flight; a
 * Deno KV file applies them in the order they were handed over.
 *
 * A shared commit is what the callers would have got one after another: a
 * batch joins a group only if none of its checks reads a key an earlier batch
 * of the group, or a commit still in flight, writes (Deno KV and `kv_commit`
 * evaluate every check of an atomic before any mutation); a group that fails
 * (a check, or an error) is committed again one batch at a time, so each
 * caller gets its own result.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { MAX_KEY_BYTES, toAtomic, type WriteGroup } from "./_atomic_batches.ts";
import { keyText } from "./_writes.ts";
import { retryLocked } from "./kv_retry.ts";

/** What one shared commit may hold: Deno KV's limits, with room for the byte estimates. */
const MAX_CHECKS = 100;
const MAX_MUTATIONS = 1000;
const MAX_BYTES = 500_000;
/** Waiting batches linger for company until the first has waited this long (ms)… */
export const COMMIT_DELAY_MS = 20;
/** …or this many wait… */
export const GATHER_AT = 8;
/** …while the commit before, begun less than this long ago (ms), had company. */
export const BUSY_WITHIN_MS = 50;
/** Commits in flight at once, at most. */
export const MAX_IN_FLIGHT = 2;
/** A commit begins while another is in flight only once this many batches wait. */
export const SECOND_COMMIT_AT = 8;

interface Waiting {
  batch: readonly WriteGroup[];
  /** When it began to wait (`timing.now()`). */
  since: number;
  checks: number;
  mutations: number;
  bytes: number;
  keyBytes: number;
  checked: string[];
  written: string[];
  resolve(result: Deno.KvCommitResult | Deno.KvCommitError): void;
  reject(error: unknown): void;
}

/** How many batches shared how many commits (for the bench and tests). */
export interface GroupCommitStats {
  batches: number;
  commits: number;
}

/** How a {@linkcode GroupCommit} waits and tells the time (tests replace them). */
export interface GroupCommitTiming {
  /** ms on a monotonic clock. */
  now(): number;
  /** Calls `then` in `ms`; what cancels that. */
  after(ms: number, then: () => void): () => void;
}

const REAL_TIME: GroupCommitTiming = {
  now: () => performance.now(),
  after: (ms, then) => {
    const timer = setTimeout(then, ms);
    return () => clearTimeout(timer);
  },
};

/** Commits batches of writes (one atomic's worth each), sharing commits between concurrent ones. */
export class GroupCommit {
  #kv: KvHandle;
  #timing: GroupCommitTiming;
  #waiting: Waiting[] = [];
  /** Commits handed over and not yet answered. */
  #inFlight = 0;
  /** The keys written by the commits in flight (how many of them write each). */
  #busyKeys = new Map<string, number>();
  /** The waiting batches linger for company until this timer ends; what cancels it (null: none). */
  #lingering: (() => void) | null = null;
  /** When the last commit began (`timing.now()`), -Infinity before the first. */
  #lastBegun = -Infinity;
  /** The last commit was shared, or a batch arrived while it was in flight. */
  #company = false;
  #stats: GroupCommitStats = { batches: 0, commits: 0 };

  constructor(kv: KvHandle, timing: GroupCommitTiming = REAL_TIME) {
    this.#kv = kv;
    this.#timing = timing;
  }

  /** Batches and commits so far. */
  get stats(): GroupCommitStats {
    return { ...this.#stats };
  }

  /** Commits `batch` (which must fit one atomic), alone or with others; its own result. */
  commit(batch: readonly WriteGroup[]): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    return new Promise((resolve, reject) => {
      if (this.#inFlight > 0) this.#company = true;
      this.#waiting.push(describe(batch, this.#timing.now(), resolve, reject));
      this.#pump();
    });
  }

  /** Begins the commits the waiting batches allow now (see the module doc). */
  #pump(): void {
    while (this.#waiting.length > 0) {
      if (this.#inFlight >= MAX_IN_FLIGHT) return;
      if (this.#inFlight > 0 && this.#waiting.length < SECOND_COMMIT_AT) return;
      if (this.#inFlight === 0 && this.#linger()) return;
      const group = this.#takeGroup();
      // The first waiting batch reads what a commit in flight writes: it waits for that one.
      if (group.length === 0) return;
      this.#begin(group);
    }
  }

  /** Whether the waiting batches (none in flight) linger for company; a timer ends the linger. */
  #linger(): boolean {
    if (this.#waiting.length >= GATHER_AT) return false;
    if (this.#lingering !== null) return true;
    const now = this.#timing.now();
    if (!this.#company || now - this.#lastBegun >= BUSY_WITHIN_MS) return false;
    const left = this.#waiting[0].since + COMMIT_DELAY_MS - now;
    if (left <= 0) return false;
    this.#lingering = this.#timing.after(left, () => {
      this.#lingering = null;
      this.#pump();
    });
    return true;
  }

  #begin(group: Waiting[]): void {
    this.#inFlight++;
    this.#lastBegun = this.#timing.now();
    this.#company = group.length > 1;
    // Enough batches came before the linger's end: no timer is left behind (a test's, a close's).
    this.#lingering?.();
    this.#lingering = null;
    const written = group.flatMap((member) => member.written);
    for (const key of written) this.#busyKeys.set(key, (this.#busyKeys.get(key) ?? 0) + 1);
    void this.#commitGroup(group).then((answers) => {
      for (const key of written) {
        const left = this.#busyKeys.get(key)! - 1;
        if (left === 0) this.#busyKeys.delete(key);
        else this.#busyKeys.set(key, left);
      }
      this.#inFlight--;
      // Answered once the commit is off the books: a caller's next batch finds none in flight.
      for (const answer of answers) answer();
      this.#pump();
    });
  }

  /**
   * The longest run of waiting batches, in order, that fits one atomic without a clash with
   * each other or with the commits in flight.
   */
  #takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    const written = new Set<string>();
    let checks = 0, mutations = 0, bytes = 0, keyBytes = 0;
    for (const next of this.#waiting) {
      if (next.checked.some((key) => this.#busyKeys.has(key))) break;
      if (group.length > 0) {
        const fits = checks + next.checks <= MAX_CHECKS &&
          mutations + next.mutations <= MAX_MUTATIONS && bytes + next.bytes <= MAX_BYTES &&
          keyBytes + next.keyBytes <= MAX_KEY_BYTES;
        if (!fits || next.checked.some((key) => written.has(key))) break;
      }
      group.push(next);
      for (const key of next.written) written.add(key);
      checks += next.checks;
      mutations += next.mutations;
      bytes += next.bytes;
      keyBytes += next.keyBytes;
    }
    this.#waiting.splice(0, group.length);
    return group;
  }

  /** Commits `group`; what answers each member (never rejects). */
  async #commitGroup(group: Waiting[]): Promise<(() => void)[]> {
    this.#stats.batches += group.length;
    if (group.length > 1) {
      this.#stats.commits++;
      const shared = await retryLocked(() => atomicOf(this.#kv, group).commit())
        .catch(() => null);
      if (shared?.ok) return group.map((member) => () => member.resolve(shared));
    }
    // Alone, or again one by one: a failed check or an error belongs to one batch.
    const answers: (() => void)[] = [];
    for (const member of group) {
      this.#stats.commits++;
      try {
        const result = await retryLocked(() => atomicOf(this.#kv, [member]).commit());
        answers.push(() => member.resolve(result));
      } catch (error) {
        answers.push(() => member.reject(error));
      }
    }
    return answers;
  }
}

function describe(
  batch: readonly WriteGroup[],
  since: number,
  resolve: Waiting["resolve"],
  reject: Waiting["reject"],
): Waiting {
  const checked: string[] = [];
  const written: string[] = [];
  let checks = 0, mutations = 0, bytes = 0, keyBytes = 0;
  for (const group of batch) {
    checks += group.checks.length;
    mutations += group.sets.length + group.deletes.length;
    bytes += group.bytes;
    for (const check of group.checks) checked.push(keyText(check.key));
    for (const [key] of group.sets) written.push(keyText(key));
    for (const key of group.deletes) written.push(keyText(key));
  }
  for (const key of [...checked, ...written]) keyBytes += key.length;
  return { batch, since, checks, mutations, bytes, keyBytes, checked, written, resolve, reject };
}

function atomicOf(kv: KvHandle, members: readonly Waiting[]): Deno.AtomicOperation {
  return toAtomic(kv, members.flatMap((member) => member.batch));
}

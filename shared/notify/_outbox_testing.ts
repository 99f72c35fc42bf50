/** Test helpers for the outbox: a fake clock, a change log, and a ready outbox on a temp KV file. */
import type { KvHandle } from "../kv/handle.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { jsonChannel, type Recorder, startRecorder } from "../../tests/_outbox_recorder.ts";
import {
  type ChannelPolicy,
  type Clock,
  Outbox,
  type OutboxChange,
  type OutboxOptions,
} from "./outbox.ts";
import type { Channel, Payload, SendResult } from "./types.ts";

/** A clock that moves only when told; sleepers wake when their time comes. */
export class FakeClock implements Clock {
  #now: number;
  #sleepers = new Set<{ at: number; wake: () => void }>();

  constructor(start = Date.parse("2025-01-06T09:00:00Z")) {
    this.#now = start;
  }

  /** The fake time. */
  now(): number {
    return this.#now;
  }

  /** Resolves when advance() reaches `ms` from now, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const sleeper = {
        at: this.#now + ms,
        wake: () => {
          this.#sleepers.delete(sleeper);
          signal?.removeEventListener("abort", sleeper.wake);
          resolve();
        },
      };
      this.#sleepers.add(sleeper);
      signal?.addEventListener("abort", sleeper.wake, { once: true });
    });
  }

  /** Moves time on by `ms`, waking the sleepers due. */
  advance(ms: number): void {
    this.#now += ms;
    for (const s of [...this.#sleepers]) if (s.at <= this.#now) s.wake();
  }

  /** Moves time to `at` (epoch ms). */
  set(at: number): void {
    this.advance(at - this.#now);
  }
}

/** Every change an outbox reported; resolves waits for the n-th match. */
export class Changes {
  /** Every change so far, in order. */
  all: OutboxChange[] = [];
  #waiters = new Set<() => void>();

  /** The onChange listener. */
  push = (change: OutboxChange): void => {
    this.all.push(change);
    for (const w of [...this.#waiters]) w();
  };

  /** Resolves once `n` changes match (counting those already seen); rejects after 5 s. */
  nth(match: Partial<OutboxChange>, n = 1): Promise<OutboxChange> {
    const matching = () =>
      this.all.filter((c) =>
        Object.entries(match).every(([k, v]) => c[k as keyof OutboxChange] === v)
      );
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = matching();
        if (found.length < n) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(found[n - 1]);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${n}th change matching ${JSON.stringify(match)} within 5 s`));
      }, 5000);
      this.#waiters.add(check);
      check();
    });
  }
}

/** What setup() gives a test; disposing it closes and removes everything. */
export interface Setup extends AsyncDisposable {
  dir: string;
  kv: KvHandle;
  clock: FakeClock;
  changes: Changes;
  outbox: Outbox;
  recorder: Recorder;
}

/** A KV file in a temp dir, a recorder, and an outbox with channels "a" and "b" posting to it. */
export async function setup(
  options: {
    answer?: Parameters<typeof startRecorder>[0];
    policy?: Partial<ChannelPolicy>;
    outbox?: Partial<OutboxOptions>;
  } = {},
): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-outbox-" });
  const kv = await Deno.openKv(join(dir, "kv.sqlite3"));
  const recorder = startRecorder(options.answer);
  const clock = new FakeClock();
  const changes = new Changes();
  const outbox = new Outbox(kv, {
    channels: new Map([
      ["a", jsonChannel("a", recorder.url)],
      ["b", jsonChannel("b", recorder.url)],
    ]),
    clock,
    random: () => 0.5,
    onChange: changes.push,
    channelPolicy: () => ({ maxAgeMs: 86_400_000, onUncertain: "skip", ...options.policy }),
    ...options.outbox,
  });
  return {
    dir,
    kv,
    clock,
    changes,
    outbox,
    recorder,
    async [Symbol.asyncDispose]() {
      await outbox.close({ graceMs: 0 });
      await recorder.close();
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Asserts that `fn` rejects with exactly this class and message. */
export async function rejectsWith(
  fn: () => Promise<unknown>,
  type: new (...args: never[]) => Error,
  message: string,
): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof type && error.constructor === type, `not a ${type.name}: ${error}`);
    assert.equal(error.message, message);
    return true;
  });
}

/** A test payload. */
export const text = (t: string): Payload => ({ type: "test", text: t });

/** A channel whose sends never answer until aborted, counting the calls. */
export function hangingChannel(name: string): Channel & { calls: number; called: Promise<void> } {
  let signalCalled = () => {};
  const channel = {
    name,
    kind: "hang",
    calls: 0,
    called: new Promise<void>((r) => signalCalled = r),
    send(_p: Payload, { signal }: { signal?: AbortSignal }): Promise<SendResult> {
      channel.calls++;
      signalCalled();
      return new Promise((resolve) =>
        signal?.addEventListener(
          "abort",
          () => resolve({ ok: false, retryable: true, error: "aborted" }),
          { once: true },
        )
      );
    },
  };
  return channel;
}

/** An in-memory channel that always succeeds, recording texts. */
export function okChannel(name: string): Channel & { texts: string[] } {
  const texts: string[] = [];
  return {
    name,
    kind: "memory",
    texts,
    send(payload) {
      texts.push(payload.type === "test" ? payload.text : payload.type);
      return Promise.resolve({ ok: true });
    },
  };
}

/**
 * Machine-scope dedupe of relayed posts (`dedupe_scope = "machine"`): two
 * agents of one workstation (two users logged in at once) relaying the same
 * post deliver it once, with no collector. The claim of a post is taken
 * before it is queued; when this fails the caller falls back to its own
 * dedupe (and says so), as with `"site"`.
 *
 * - Linux: the agent holding the machine claim `scriptmon/relay/dedupe`
 *   (an abstract socket, see `platform/machine_claim.ts`) keeps the keys in
 *   memory; the others ask it, one line per post. Whoever relays first
 *   while none holds it becomes the keeper; when the keeper dies another
 *   takes over on its next post, with an empty memory (a post relayed by
 *   both right across a takeover may go twice).
 * - Windows: each post's key is a `Global\` mutex the first agent owns for
 *   the dedupe window; another agent finds it owned and drops its copy.
 *   Windows frees the mutex if the owner dies.
 *
 * Keys are SHA-256 hashes of the agent's dedupe key, so nothing of a post's
 * content crosses between users. Any local user can ask the keeper (Linux):
 * one who knows a post's exact content could claim it first and suppress
 * it, which is what dedupe is for between the agents anyway.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { describeHolder } from "../supervise/machine_singleton.ts";
import {
  type HeldClaim,
  LinuxMachineClaims,
  type Win32Mutexes,
  windowsMutexes,
} from "../platform/machine_claim.ts";

/** What the notifier asks: true when this agent got the post's claim, false for a duplicate. */
export interface MachineDedupe {
  claim(key: string, windowMs: number): Promise<boolean>;
  /** Gives up what this agent holds. */
  close(): Promise<void>;
}

/** The keeper remembers at most this many posts (the oldest go first beyond it). */
export const MAX_KEYS = 50_000;
/** A claim lasts between these (a webhook's dedupe_window, or a day for an Idempotency-Key). */
const MIN_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 7 * 24 * 3600_000;
const NAME = "dedupe";

async function hashOf(key: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function clampWindow(ms: number): number {
  return Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, Math.round(ms)));
}

/** Keys by expiry, bounded: the keeper's memory. */
export class DedupeKeys {
  #keys = new Map<string, number>();
  #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** True (and remembered for `windowMs`) unless `hash` was claimed within its window. */
  claim(hash: string, windowMs: number): boolean {
    const now = this.#clock.now();
    const until = this.#keys.get(hash);
    if (until !== undefined && until > now) return false;
    this.#keys.delete(hash);
    if (this.#keys.size >= MAX_KEYS) this.#prune(now);
    this.#keys.set(hash, now + clampWindow(windowMs));
    return true;
  }

  #prune(now: number): void {
    for (const [hash, until] of this.#keys) if (until <= now) this.#keys.delete(hash);
    // Still full: the oldest claims go (a duplicate beyond MAX_KEYS posts is the lesser harm).
    for (const hash of this.#keys.keys()) {
      if (this.#keys.size < MAX_KEYS) break;
      this.#keys.delete(hash);
    }
  }
}

/** Linux: a keeper behind the machine claim; see the module comment. */
export class SocketDedupe implements MachineDedupe {
  #claims: LinuxMachineClaims;
  #keys: DedupeKeys;
  #held: HeldClaim | null = null;

  /** `prefix` keeps tests apart from real agents (default `scriptmon/relay/`). */
  constructor(options: { prefix?: string; clock?: Clock } = {}) {
    this.#claims = new LinuxMachineClaims({ prefix: options.prefix ?? "scriptmon/relay/" });
    this.#keys = new DedupeKeys(options.clock);
  }

  /** Whether this agent keeps the machine's keys. */
  get keeper(): boolean {
    return this.#held !== null;
  }

  async claim(key: string, windowMs: number): Promise<boolean> {
    const hash = await hashOf(key);
    if (this.#held === null) {
      const attempt = this.#claims.claim(NAME);
      if (attempt.held === null) {
        if (attempt.slot === null) {
          throw new Error(
            `no agent of this machine can keep relay claims: every slot is held by a process ` +
              `that is not an agent (${attempt.squatters.map(describeHolder).join("; ")})`,
          );
        }
        const answer = JSON.parse(
          await this.#claims.ask(NAME, attempt.slot, JSON.stringify({ key: hash, windowMs })),
        );
        if (typeof answer?.claimed !== "boolean") {
          throw new Error(`the keeper of relay claims answered ${JSON.stringify(answer)}`);
        }
        return answer.claimed;
      }
      this.#held = attempt.held;
      attempt.held.serve?.((line) => this.#answer(line));
    }
    return this.#keys.claim(hash, windowMs);
  }

  #answer(line: string): string {
    try {
      const request = JSON.parse(line);
      if (
        typeof request?.key !== "string" || !/^[0-9a-f]{64}$/.test(request.key) ||
        typeof request.windowMs !== "number" || !Number.isFinite(request.windowMs)
      ) {
        return JSON.stringify({ error: "expected {key: <sha-256 hex>, windowMs: <number>}" });
      }
      return JSON.stringify({ claimed: this.#keys.claim(request.key, request.windowMs) });
    } catch {
      return JSON.stringify({ error: "expected one JSON object" });
    }
  }

  async close(): Promise<void> {
    const held = this.#held;
    this.#held = null;
    await held?.release();
  }
}

/** Windows: a `Global\` mutex per post, owned for its window; see the module comment. */
export class MutexDedupe implements MachineDedupe {
  #win32: Win32Mutexes;
  #clock: Clock;
  #held = new Map<string, AbortController>();
  #prefix: string;

  constructor(
    win32: Win32Mutexes,
    options: { clock?: Clock; prefix?: string } = {},
  ) {
    this.#win32 = win32;
    this.#clock = options.clock ?? systemClock;
    this.#prefix = options.prefix ?? "Global\\scriptmon-dedupe-";
  }

  async claim(key: string, windowMs: number): Promise<boolean> {
    const hash = await hashOf(key);
    // Windows would hand a mutex this thread owns out again.
    if (this.#held.has(hash)) return false;
    if (this.#held.size >= MAX_KEYS) {
      throw new Error(`this agent already holds ${MAX_KEYS} relay claims`);
    }
    const result = this.#win32.tryMutex(`${this.#prefix}${hash}`);
    if (result.state !== "owned") {
      if (result.state === "busy") return false;
      throw new Error("the machine claim of this post is held by a process of another user");
    }
    const { handle } = result;
    const expiry = new AbortController();
    this.#held.set(hash, expiry);
    this.#clock.sleep(clampWindow(windowMs), expiry.signal).then(() => {
      if (this.#held.get(hash) !== expiry) return;
      this.#held.delete(hash);
      this.#win32.releaseMutex(handle);
    });
    return true;
  }

  close(): Promise<void> {
    for (const expiry of this.#held.values()) expiry.abort();
    this.#held.clear();
    // The mutexes close with the process; nothing else may take them before it ends.
    return Promise.resolve();
  }
}

/** This OS's machine-scope relay dedupe; null on a Unix without abstract sockets (macOS). */
export async function systemMachineDedupe(
  os: typeof Deno.build.os = Deno.build.os,
): Promise<MachineDedupe | null> {
  if (os === "linux") return new SocketDedupe();
  if (os === "windows") return new MutexDedupe(await windowsMutexes());
  return null;
}

/**
 * Bearer tokens, agent and API: 32 random bytes, base64url, with a prefix
 * saying what the token is for (`smag_` agent, `smapi_` API, `smwall_` a wall
 * screen's read-only view). Only the
 * SHA-256 hash is stored; the token itself is shown once, when created.
 *
 * Keys: `["token", kind, hash]` → {@linkcode TokenRecord};
 * `["token_name", kind, name]` → hash; `["token_generation"]` → a counter
 * every revocation or erasure adds to.
 *
 * A verified token is kept in memory, so that a request costs no store read:
 * the counter is read at most once every {@linkcode TOKEN_RECHECK_MS} and a
 * change empties the cache, so a token revoked through any collector (or the
 * CLI) is refused within about a second. A token's `lastUsedAt` (at most once
 * a minute) is not written on the request's path either: the uses wait in
 * memory until {@linkcode TokenStore.flushTouches}, which the collector calls
 * every few seconds and on its way out, and which writes them in a few commits.
 * (Written one by one, a fleet whose agents started together touched its
 * 1,000 tokens in the same second each minute: a read and a commit each, and
 * the p99 of that second's requests went to hundreds of milliseconds.)
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { createHash } from "node:crypto";
import { retryLocked } from "./kv_retry.ts";
import { unboundedAtomics } from "./capabilities.ts";
import {
  type CreateTokenOptions,
  StoreConflictError,
  type TokenKind,
  type TokenRecord,
} from "./types.ts";

const PREFIX: Record<TokenKind, string> = { agent: "smag_", api: "smapi_", wall: "smwall_" };
/** `lastUsedAt` is written at most this often. */
const TOUCH_EVERY_MS = 60_000;

/** How long a cached token is trusted before the revocation counter is read again. */
export const TOKEN_RECHECK_MS = 1000;
/** Tokens kept in memory at most (a fleet has one per workstation). */
const CACHE_MAX = 100_000;
/** Touches written in one commit on a Deno KV file (a read of more keys is refused). */
const KV_TOUCHES_A_COMMIT = 10;
/** ... and on PostgreSQL, whose commits take any number. */
const PG_TOUCHES_A_COMMIT = 1000;
const GENERATION_KEY = ["token_generation"];

const iso = (ms: number) => new Date(ms).toISOString();

/** A token's use, to be written as its `lastUsedAt`. */
interface Touch {
  kind: TokenKind;
  hash: string;
  at: string;
}

/** Notes that tokens were revoked or deleted: every collector's cache of them is emptied. */
export async function tokensChanged(kv: KvHandle): Promise<void> {
  await retryLocked(() => kv.atomic().sum(GENERATION_KEY, 1n).commit());
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A new random token of `kind`. */
export function generateToken(kind: TokenKind): string {
  return PREFIX[kind] + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The hex SHA-256 of `token`, as stored (synchronous: it runs on every request). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The agent and API tokens in the collector's KV. */
export class TokenStore {
  #kv: KvHandle;
  /** `kind:hash` → the live record, as of the revocation counter `#generation`. */
  #cache = new Map<string, TokenRecord>();
  #generation: bigint | null = null;
  #checkedAt = -Infinity;
  #checking: Promise<void> | null = null;
  /** Uses not written yet (`lastUsedAt`), by `kind:hash`. */
  #touches = new Map<string, Touch>();

  /** Uses `kv` (the store's handle); the caller opens and closes it. */
  constructor(kv: KvHandle) {
    this.#kv = kv;
  }

  /**
   * Creates a token and returns it (shown once) with its record. A name may
   * be reused only once the token holding it is revoked.
   *
   * @throws {StoreConflictError} when a live token of `kind` has `name`.
   */
  async create(options: CreateTokenOptions): Promise<{ token: string; record: TokenRecord }> {
    const token = generateToken(options.kind);
    const record: TokenRecord = {
      kind: options.kind,
      hash: hashToken(token),
      name: options.name,
      site: options.site ?? null,
      host: null,
      createdAt: iso(options.now),
      lastUsedAt: null,
      revoked: false,
      revokedAt: null,
      // An API token reads only, of every site, unless told otherwise; a wall token only reads.
      ...(options.kind === "api"
        ? { role: options.role ?? "viewer", sites: options.sites ?? null }
        : options.kind === "wall"
        ? { role: "viewer" as const, sites: options.sites ?? null }
        : {}),
      // An agent token's environment; an API or wall token's environments (null: every one).
      ...(options.kind === "agent"
        ? (options.environment ? { environment: options.environment } : {})
        : options.environments
        ? { environments: options.environments }
        : {}),
    };
    const nameKey = ["token_name", options.kind, options.name];
    const held = await retryLocked(() => this.#kv.get<string>(nameKey));
    if (held.value !== null) {
      const current = await this.#kv.get<TokenRecord>(["token", options.kind, held.value]);
      if (current.value !== null && !current.value.revoked) {
        throw new StoreConflictError(
          `An ${options.kind} token named "${options.name}" exists already; revoke it first or pick another name`,
        );
      }
    }
    const result = await retryLocked(() =>
      this.#kv.atomic()
        .check(held)
        .set(nameKey, record.hash)
        .set(["token", options.kind, record.hash], record)
        .commit()
    );
    if (!result.ok) {
      throw new StoreConflictError(
        `An ${options.kind} token named "${options.name}" was just created by someone else`,
      );
    }
    return { token, record };
  }

  /** Every token of `kind`, revoked ones too, oldest first. */
  async list(kind: TokenKind): Promise<TokenRecord[]> {
    const records: TokenRecord[] = [];
    for await (const entry of this.#kv.list<TokenRecord>({ prefix: ["token", kind] })) {
      records.push(entry.value);
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes the live token named `name`; returns its record, or null when there is none. */
  async revoke(kind: TokenKind, name: string, now: number): Promise<TokenRecord | null> {
    const hash = await retryLocked(() => this.#kv.get<string>(["token_name", kind, name]));
    if (hash.value === null) return null;
    const key = ["token", kind, hash.value];
    const entry = await retryLocked(() => this.#kv.get<TokenRecord>(key));
    if (entry.value === null || entry.value.revoked) return null;
    const record: TokenRecord = { ...entry.value, revoked: true, revokedAt: iso(now) };
    await retryLocked(() => this.#kv.atomic().set(key, record).sum(GENERATION_KEY, 1n).commit());
    this.#cache.delete(`${kind}:${hash.value}`);
    return record;
  }

  /**
   * The live token record of `token`, or null when it is unknown or revoked. A use a minute
   * after the last one written is noted for {@linkcode TokenStore.flushTouches}, and the record
   * returned says it.
   */
  async authenticate(kind: TokenKind, token: string, now: number): Promise<TokenRecord | null> {
    const hash = hashToken(token);
    await this.#recheck();
    const id = `${kind}:${hash}`;
    let record = this.#cache.get(id);
    if (record === undefined) {
      const stored = (await retryLocked(() => this.#kv.get<TokenRecord>(["token", kind, hash])))
        .value;
      if (stored === null || stored.revoked) return null;
      record = stored;
      this.#remember(record);
    }
    if (this.#touchDue(record, now)) {
      record = { ...record, lastUsedAt: iso(now) };
      this.#touches.set(id, { kind, hash, at: record.lastUsedAt! });
      this.#remember(record);
    }
    return record;
  }

  /**
   * Writes the uses noted since the last call (`lastUsedAt`), a few commits for any number;
   * returns how many records it wrote. Each commit checks the records it read, so a revocation
   * in between wins: a token gone or revoked is not written, nor one another collector touched
   * later. Calls that overlap write what each took, never the same use twice.
   */
  async flushTouches(): Promise<number> {
    const due = [...this.#touches.values()];
    this.#touches.clear();
    const size = unboundedAtomics(this.#kv) ? PG_TOUCHES_A_COMMIT : KV_TOUCHES_A_COMMIT;
    let written = 0;
    for (let i = 0; i < due.length; i += size) {
      try {
        written += await this.#touch(due.slice(i, i + size));
      } catch (error) {
        // The store is away: these uses, and those not tried yet, wait for the next call.
        for (const touch of due.slice(i)) {
          const id = `${touch.kind}:${touch.hash}`;
          if (!this.#touches.has(id)) this.#touches.set(id, touch);
        }
        throw error;
      }
    }
    return written;
  }

  /** Writes `touches` in one commit, read again and retried when a record changed meanwhile. */
  async #touch(touches: Touch[]): Promise<number> {
    const keys = touches.map((t) => ["token", t.kind, t.hash]);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const entries = await retryLocked(() => this.#kv.getMany<TokenRecord[]>(keys));
      const op = this.#kv.atomic();
      let changed = 0;
      entries.forEach((entry, i) => {
        const record = entry.value;
        const at = touches[i].at;
        if (record === null || record.revoked || (record.lastUsedAt ?? "") >= at) return;
        op.check(entry).set(entry.key, { ...record, lastUsedAt: at });
        changed++;
      });
      if (changed === 0 || (await retryLocked(() => op.commit())).ok) return changed;
    }
    // Updated in between three times over (hosts bound, tokens revoked): these uses are left
    // unwritten; each token's next use a minute on is noted again.
    return 0;
  }

  #touchDue(record: TokenRecord, now: number): boolean {
    return record.lastUsedAt === null || now - Date.parse(record.lastUsedAt) >= TOUCH_EVERY_MS;
  }

  #remember(record: TokenRecord): void {
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(`${record.kind}:${record.hash}`, record);
  }

  /** Empties the cache when tokens were revoked or erased since it was last read (once a second). */
  async #recheck(): Promise<void> {
    if (performance.now() - this.#checkedAt < TOKEN_RECHECK_MS) return;
    this.#checking ??= (async () => {
      const entry = await retryLocked(() => this.#kv.get<Deno.KvU64>(GENERATION_KEY));
      const generation = entry.value?.value ?? 0n;
      if (generation !== this.#generation) this.#cache.clear();
      this.#generation = generation;
      this.#checkedAt = performance.now();
    })().finally(() => this.#checking = null);
    await this.#checking;
  }

  /**
   * Binds agent token `record` to `host`, the first host it is used by (kept
   * for the long-poll); returns the bound host, or null when the token is
   * gone or revoked.
   */
  async bindHost(record: TokenRecord, host: string): Promise<string | null> {
    const key = ["token", record.kind, record.hash];
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<TokenRecord>(key));
      if (entry.value === null || entry.value.revoked) return null;
      // A token is bound to the first host it is used by; that never changes.
      if (entry.value.host !== null) return entry.value.host;
      const bound = { ...entry.value, host };
      const done = await retryLocked(() => this.#kv.atomic().check(entry).set(key, bound).commit());
      if (done.ok) {
        if (this.#cache.has(`${bound.kind}:${bound.hash}`)) this.#remember(bound);
        return host;
      }
    }
    return null;
  }
}

/**
 * Bearer tokens, agent and API: 32 random bytes, base64url, with a prefix
 * saying what the token is for (`smag_` agent, `smapi_` API). Only the
 * SHA-256 hash is stored; the token itself is shown once, when created.
 *
 * Keys: `["token", kind, hash]` → {@linkcode TokenRecord};
 * `["token_name", kind, name]` → hash.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv_handle.ts";
import { createHash } from "node:crypto";
import { retryLocked } from "./kv_retry.ts";
import {
  type CreateTokenOptions,
  StoreConflictError,
  type TokenKind,
  type TokenRecord,
} from "./types.ts";

const PREFIX: Record<TokenKind, string> = { agent: "smag_", api: "smapi_" };
/** `lastUsedAt` is written at most this often. */
const TOUCH_EVERY_MS = 60_000;

const iso = (ms: number) => new Date(ms).toISOString();

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
      // An API token reads only, of every site, unless told otherwise.
      ...(options.kind === "api"
        ? { role: options.role ?? "viewer", sites: options.sites ?? null }
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
    await retryLocked(() => this.#kv.set(key, record));
    return record;
  }

  /** The live token record of `token`, or null when it is unknown or revoked. */
  async authenticate(kind: TokenKind, token: string, now: number): Promise<TokenRecord | null> {
    const key = ["token", kind, hashToken(token)];
    const entry = await retryLocked(() => this.#kv.get<TokenRecord>(key));
    const record = entry.value;
    if (record === null || record.revoked) return null;
    if (record.lastUsedAt === null || now - Date.parse(record.lastUsedAt) >= TOUCH_EVERY_MS) {
      const touched = { ...record, lastUsedAt: iso(now) };
      // A lost race only loses a newer lastUsedAt; a revoke in between must win.
      await retryLocked(() => this.#kv.atomic().check(entry).set(key, touched).commit());
      return touched;
    }
    return record;
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
      const done = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(key, { ...entry.value!, host }).commit()
      );
      if (done.ok) return host;
    }
    return null;
  }
}

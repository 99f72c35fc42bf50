/**
 * Site-scope dedupe claims: the first agent of a site to claim a key (a
 * relayed message's dedupe key) within its window gets it, every other one
 * is told it was claimed. `["dedupe", site, sha256(key)]` holds when the
 * claim was made and its window (on a Deno KV file the value decides, not
 * KV's lazy `expireIn`; on PostgreSQL the record expires with its window by the
 * database's clock, the same for every replica); a claim older than its window
 * is taken over with an atomic checked on the versionstamp just read.
 *
 * @module
 */

import { expiresExactly, type KvHandle } from "../../shared/kv/handle.ts";
import { retryLocked } from "../store/kv_retry.ts";

/** A claim as stored. */
export interface DedupeClaim {
  /** `site/host` of the agent that claimed it. */
  by: string;
  claimedAt: number;
  windowMs: number;
}

/** What one claim names. */
export interface ClaimOptions {
  site: string;
  key: string;
  windowMs: number;
  /** `site/host` of the asking agent. */
  by: string;
  /** The collector's clock. */
  now: number;
}

const MAX_ATTEMPTS = 10;
/** Old claims are removed by KV this long after their window (lazily). */
const TIDY_AFTER_MS = 3_600_000;

/** Site-wide dedupe claims in the collector's KV; see the module comment. */
export class SiteDedupe {
  #kv: KvHandle;
  #exact: boolean;

  /** Uses `kv`; the caller opens and closes it. */
  constructor(kv: KvHandle) {
    this.#kv = kv;
    this.#exact = expiresExactly(kv);
  }

  /** True when this call got the claim; false when a claim within its window exists. */
  async claim(options: ClaimOptions): Promise<boolean> {
    const key = await dedupeKey(options.site, options.key);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<DedupeClaim>(key));
      const current = entry.value;
      const live = current !== null &&
        (this.#exact || current.claimedAt + current.windowMs > options.now);
      if (live) return false;
      const claim: DedupeClaim = {
        by: options.by,
        claimedAt: options.now,
        windowMs: options.windowMs,
      };
      const result = await retryLocked(() =>
        this.#kv.atomic()
          .check(entry)
          .set(key, claim, { expireIn: options.windowMs + (this.#exact ? 0 : TIDY_AFTER_MS) })
          .commit()
      );
      if (result.ok) return true;
    }
    // Every attempt lost to another claim of the same key: someone has it.
    return false;
  }
}

/** The KV key of `key` at `site` (hashed: a key may be longer than KV allows). */
export async function dedupeKey(site: string, key: string): Promise<Deno.KvKey> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return ["dedupe", site, hex];
}

/**
 * Packs KV writes into as few atomics as Deno KV allows (≤ 100 checks,
 * ≤ 1000 mutations, ≤ 80 KiB of keys, ≤ 800 KiB of keys and values per commit).
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";

/** Writes that must land in the same atomic. */
export interface WriteGroup {
  checks: Deno.AtomicCheck[];
  sets: [Deno.KvKey, unknown][];
  deletes: Deno.KvKey[];
  /** Estimated bytes of keys and values. */
  bytes: number;
}

const MAX_CHECKS = 100;
const MAX_MUTATIONS = 1000;
/** Below KV's 800 KiB, since `bytes` is an estimate. */
const MAX_BYTES = 500_000;
/** Below KV's 80 KiB of keys (checks' and mutations'), since the keys' JSON is an estimate. */
export const MAX_KEY_BYTES = 60_000;

/** The estimated bytes of `group`'s keys: their JSON. */
function keyBytesOf(group: WriteGroup): number {
  let bytes = 0;
  for (const check of group.checks) bytes += JSON.stringify(check.key).length;
  for (const [key] of group.sets) bytes += JSON.stringify(key).length;
  for (const key of group.deletes) bytes += JSON.stringify(key).length;
  return bytes;
}

/** Groups `groups` in order into batches that each fit in one atomic. */
export function packGroups(groups: readonly WriteGroup[]): WriteGroup[][] {
  const batches: WriteGroup[][] = [];
  let current: WriteGroup[] = [];
  let checks = 0, mutations = 0, bytes = 0, keyBytes = 0;
  for (const group of groups) {
    const m = group.sets.length + group.deletes.length;
    const k = keyBytesOf(group);
    if (
      current.length > 0 &&
      (checks + group.checks.length > MAX_CHECKS || mutations + m > MAX_MUTATIONS ||
        bytes + group.bytes > MAX_BYTES || keyBytes + k > MAX_KEY_BYTES)
    ) {
      batches.push(current);
      current = [];
      checks = mutations = bytes = 0;
      keyBytes = 0;
    }
    current.push(group);
    checks += group.checks.length;
    mutations += m;
    bytes += group.bytes;
    keyBytes += k;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** One atomic holding every write of `batch`. */
export function toAtomic(kv: KvHandle, batch: readonly WriteGroup[]): Deno.AtomicOperation {
  const op = kv.atomic();
  for (const group of batch) {
    if (group.checks.length > 0) op.check(...group.checks);
    for (const [key, value] of group.sets) op.set(key, value);
    for (const key of group.deletes) op.delete(key);
  }
  return op;
}

/**
 * Retention in the outbox: finished messages older than the history period are deleted, a batch
 * at a time, so a store that runs for months keeps its size.
 *
 * @module
 */
import type { KvHandle } from "../kv/handle.ts";
import { OutboxStore } from "./_outbox_store.ts";

/**
 * Deletes up to `limit` finished messages of `kv`'s outbox created and last changed before
 * `beforeMs`, oldest first, with their payloads; returns how many. Messages still on their way
 * (queued, sending, retrying) and "uncertain" ones (a person decides on those) are never pruned.
 */
export function pruneMessages(kv: KvHandle, beforeMs: number, limit: number): Promise<number> {
  return new OutboxStore(kv).prune(beforeMs, limit);
}

/**
 * Erasure in the outbox: finished messages about a subject deleted with
 * their dedupe claims, for the collector's erasure requests.
 *
 * @module
 */
import type { KvHandle } from "../kv/handle.ts";
import { OutboxStore } from "./_outbox_store.ts";
import type { Payload } from "./types.ts";

/**
 * Deletes the delivered (or otherwise finished) messages in `kv`'s outbox
 * whose payload `match` accepts, for an erasure request; returns how many
 * (with `dryRun`, how many it would). Needs no channels: a CLI can call it.
 */
export function eraseMessages(
  kv: KvHandle,
  match: (payload: Payload) => boolean,
  options: { dryRun?: boolean } = {},
): Promise<number> {
  return new OutboxStore(kv).erase(match, options);
}

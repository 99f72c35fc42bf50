/**
 * How an ingest's writes are committed: in one atomic where they fit one
 * (always on PostgreSQL, which allows any number of writes in one; on a Deno
 * KV file, an ingest of up to a few hundred events), checked against the agent
 * record alone; else in as few Deno KV atomics as fit, each event checked
 * absent.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { packGroups, type WriteGroup } from "./_atomic_batches.ts";
import type { GroupCommit } from "./_group_commit.ts";
import { unboundedAtomics } from "./capabilities.ts";
import { isEventGroup, keyText } from "./_writes.ts";
import { retryLocked } from "./kv_retry.ts";

/** What an ingest's commit stored: its events, and the versionstamp its agent record got. */
export interface Committed {
  stored: number;
  versionstamp: string;
}

/**
 * Commits an ingest's `groups` (`final`, the agent record's, last; `events` of them new events):
 * in one atomic whose only checks are `final`'s where they fit one, else in batches. Every ingest
 * of an agent writes its record, so while the record is unchanged no event of `groups` can have
 * been stored meanwhile: the per-event checks, which batches need, are left out of one atomic,
 * and a shared commit holds twice as many ingests without them. The atomics go through
 * `committer`, which may share a commit with other ingests'. Returns the events stored, or null
 * when a check of `final` failed (someone else updated the agent, or a command was queued).
 */
export function commitIngest(
  kv: KvHandle,
  committer: GroupCommit,
  groups: WriteGroup[],
  final: WriteGroup,
  events: number,
): Promise<Committed | null> {
  const unchecked = groups.map((group) =>
    isEventGroup(group) && group.checks.length > 0 ? { ...group, checks: [] } : group
  );
  return unboundedAtomics(kv) || packGroups(unchecked).length === 1
    ? commitAtOnce(committer, unchecked, events)
    : commitInBatches(kv, committer, groups, final);
}

async function commitAtOnce(
  committer: GroupCommit,
  batch: WriteGroup[],
  events: number,
): Promise<Committed | null> {
  const result = await committer.commit(batch);
  return result.ok ? { stored: events, versionstamp: result.versionstamp } : null;
}

/**
 * Commits `groups` in as few atomics as fit, each through `committer` (which
 * may share the commit with other ingests'); groups whose event already
 * exists are dropped. `final` (the agent record) is last. Returns how many
 * event groups were written, or null when a check of `final` failed
 * (someone else updated the agent, or a command was queued for it).
 */
async function commitInBatches(
  kv: KvHandle,
  committer: GroupCommit,
  groups: WriteGroup[],
  final: WriteGroup,
): Promise<Committed | null> {
  let written = 0;
  for (let batch of packGroups(groups)) {
    for (;;) {
      const result = await committer.commit(batch);
      if (result.ok) {
        written += batch.filter(isEventGroup).length;
        if (batch.includes(final)) return { stored: written, versionstamp: result.versionstamp };
        break;
      }
      if (batch.includes(final)) {
        const now = await retryLocked(() => kv.getMany(final.checks.map((c) => c.key)));
        if (now.some((entry, i) => entry.versionstamp !== final.checks[i].versionstamp)) {
          return null;
        }
      }
      const stored = await existing(kv, batch.filter(isEventGroup).map((g) => g.sets[0][0]));
      const next = batch.filter((g) => !(isEventGroup(g) && stored.has(keyText(g.sets[0][0]))));
      if (next.length === batch.length) {
        throw new Error("Ingest atomic failed although no check should fail"); // cannot happen
      }
      batch = next;
    }
  }
  throw new Error("Ingest groups without the agent record's"); // cannot happen: final is last
}

/** Which of `keys` exist (getMany, ten at a time). */
async function existing(kv: KvHandle, keys: Deno.KvKey[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < keys.length; i += 10) {
    const entries = await retryLocked(() => kv.getMany(keys.slice(i, i + 10)));
    for (const entry of entries) if (entry.versionstamp !== null) found.add(keyText(entry.key));
  }
  return found;
}

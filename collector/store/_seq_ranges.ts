/**
 * Which event seqs of an agent are stored, kept small: everything up to
 * `acked` (the highest contiguous seq) plus a few sorted, disjoint,
 * non-adjacent ranges above it (events that arrived after a gap).
 *
 * @module
 */

/** Inclusive `[from, to]` ranges, sorted, disjoint and not touching. */
export type SeqRanges = [number, number][];

/** Whether `seq` is stored according to `acked` and `ahead`. */
export function isStored(seq: number, acked: number, ahead: SeqRanges): boolean {
  return seq <= acked || ahead.some(([from, to]) => seq >= from && seq <= to);
}

/**
 * Adds `seqs` to the ranges and advances `acked` over every range that now
 * touches it. Returns the new `acked` and the ranges still ahead of it.
 */
export function addSeqs(
  acked: number,
  ahead: SeqRanges,
  seqs: Iterable<number>,
): { acked: number; ahead: SeqRanges } {
  const all: SeqRanges = ahead.map(([from, to]) => [from, to]);
  for (const seq of seqs) if (seq > acked) all.push([seq, seq]);
  all.sort((a, b) => a[0] - b[0]);
  const merged: SeqRanges = [];
  for (const [from, to] of all) {
    const last = merged.at(-1);
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  let next = acked;
  while (merged.length > 0 && merged[0][0] <= next + 1) {
    next = Math.max(next, merged[0][1]);
    merged.shift();
  }
  return { acked: next, ahead: merged };
}

import assert from "node:assert/strict";
import { addSeqs, isStored } from "./_seq_ranges.ts";

Deno.test("addSeqs() advances acked over contiguous seqs only", () => {
  assert.deepEqual(addSeqs(0, [], [1, 2, 3, 5, 6]), { acked: 3, ahead: [[5, 6]] });
});

Deno.test("addSeqs() fills a gap and swallows the ranges beyond it", () => {
  assert.deepEqual(addSeqs(3, [[5, 6], [9, 9]], [4]), { acked: 6, ahead: [[9, 9]] });
  assert.deepEqual(addSeqs(6, [[9, 9]], [7, 8, 8]), { acked: 9, ahead: [] });
});

Deno.test("addSeqs() ignores seqs at or below acked", () => {
  assert.deepEqual(addSeqs(5, [], [1, 5]), { acked: 5, ahead: [] });
});

Deno.test("isStored() knows acked and the ranges ahead", () => {
  assert.equal(isStored(3, 3, []), true);
  assert.equal(isStored(4, 3, [[5, 6]]), false);
  assert.equal(isStored(6, 3, [[5, 6]]), true);
});

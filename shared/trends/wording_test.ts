import assert from "node:assert/strict";
import { formatCount, formatSpan, plural } from "./wording.ts";

Deno.test("formatCount() is whole from 10 up and keeps one decimal below", () => {
  assert.deepEqual([0, 1, 7.46, 9.96, 10, 40.4, 123.5].map(formatCount), [
    "0",
    "1",
    "7.5",
    "10",
    "10",
    "40",
    "124",
  ]);
});

Deno.test("formatSpan() gives minutes under an hour and hours above", () => {
  assert.deepEqual(
    [20_000, 30 * 60_000, 3_600_000, 5_400_000, 7_200_000, 11 * 3_600_000].map(formatSpan),
    [
      "1 min",
      "30 min",
      "1 h",
      "1.5 h",
      "2 h",
      "11 h",
    ],
  );
});

Deno.test("plural() names one thing in the singular and others in the plural", () => {
  assert.equal(plural(1, "message"), "1 message");
  assert.equal(plural(0, "message"), "0 messages");
  assert.equal(plural(12, "time"), "12 times");
});

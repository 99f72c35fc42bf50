import assert from "node:assert/strict";
import { diffLines, unifiedDiff } from "./text_diff.ts";

Deno.test("unifiedDiff() of equal texts is empty", () => {
  assert.equal(unifiedDiff("a\nb\n", "a\nb\n"), "");
});

Deno.test("unifiedDiff() shows a changed value with three lines of context, as diff -u does", () => {
  const before = ["[webhooks.ops]", 'kind = "slack"', 'url = "https://old"', "", "[scripts.a]"]
    .join("\n");
  const after = before.replace("https://old", "https://new");
  assert.equal(
    unifiedDiff(before, after, { from: "v3", to: "v4" }),
    [
      "--- v3",
      "+++ v4",
      "@@ -1,5 +1,5 @@",
      " [webhooks.ops]",
      ' kind = "slack"',
      '-url = "https://old"',
      '+url = "https://new"',
      " ",
      " [scripts.a]",
      "",
    ].join("\n"),
  );
});

Deno.test("unifiedDiff() splits far-apart changes into hunks with the right line numbers", () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join("\n");
  const after = before.replace("line 2\n", "").replace("line 18", "line 18 changed");
  const diff = unifiedDiff(before, after, { context: 1 });
  assert.deepEqual(diff.split("\n").filter((l) => l.startsWith("@@")), [
    "@@ -1,3 +1,2 @@",
    "@@ -17,3 +16,3 @@",
  ]);
});

Deno.test("unifiedDiff() from nothing adds every line", () => {
  assert.equal(unifiedDiff("", "a\nb"), "--- before\n+++ after\n@@ -0,0 +1,2 @@\n+a\n+b\n");
});

Deno.test("diffLines() keeps common lines and marks the rest, removals first", () => {
  assert.deepEqual(diffLines("a\nb\nc", "a\nx\ny\nc"), [
    { kind: " ", text: "a" },
    { kind: "-", text: "b" },
    { kind: "+", text: "x" },
    { kind: "+", text: "y" },
    { kind: " ", text: "c" },
  ]);
});

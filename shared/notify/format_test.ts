import assert from "node:assert/strict";
import { formatAlertShort, formatAlertText, SMS_MAX_CHARS, summarizeAlert } from "./format.ts";
import { testAlert } from "./channels/_test_alert.ts";

Deno.test("formatAlertText() says what, where, when, the evidence, stderr and the link", () => {
  assert.equal(
    formatAlertText(testAlert()),
    [
      "[FIRING] CRITICAL rates is crash-looping on PICK-WS-07 (BFI4) (+1 more)",
      "",
      "rates exited 10 times within 10m; restarts are paused.",
      "",
      "Site: BFI4",
      "Host: PICK-WS-07",
      "Script: rates",
      "Since: 2025-03-04T05:06:07.000Z",
      "Exit code: 1",
      "Restarts: 10",
      "Rule: crash-looping",
      "",
      "Also affected (1):",
      "- PICK-WS-08 (BFI4) rates: exit code 2",
      "",
      "Last 3 lines of stderr:",
      "```",
      "Traceback (most recent call last):",
      '  File "rates.py", line 3',
      "KeyError: <token>",
      "```",
      "",
      "https://scriptmon.example/scripts/BFI4/PICK-WS-07/rates",
    ].join("\n"),
  );
});

Deno.test("summarizeAlert() shows a check value against its threshold and says resolved", () => {
  const summary = summarizeAlert(testAlert({
    rule: "resource",
    status: "resolved",
    severity: "warning",
    title: "rates uses too much memory",
    text: "memory is back under the limit",
    check: "memory",
    exitCode: undefined,
    value: 512,
    threshold: 400,
    group: undefined,
  }));
  assert.equal(summary.heading, "[RESOLVED] WARNING rates uses too much memory");
  assert.equal(summary.text, "Resolved: memory is back under the limit");
  assert.deepEqual(summary.facts.find((f) => f.label === "Value"), {
    label: "Value",
    value: "512 (threshold 400)",
  });
  assert.ok(summary.facts.some((f) => f.label === "Resolved at"));
});

Deno.test("summarizeAlert() keeps the last 15 stderr lines and defuses code fences", () => {
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i}`);
  lines.push("```inject");
  const summary = summarizeAlert(testAlert({ stderrTail: lines }));
  assert.equal(summary.stderr.length, 15);
  assert.equal(summary.stderr[0], "line 26");
  assert.doesNotMatch(summary.stderr.at(-1)!, /```/);
});

Deno.test("formatAlertShort() fits an SMS and keeps the link when there is room", () => {
  const short = formatAlertShort(testAlert());
  assert.equal(
    short,
    "FIRING: CRITICAL rates is crash-looping on PICK-WS-07 (BFI4) (+1 more), exit code 1, 10 restarts, " +
      "2025-03-04T05:06:07Z https://scriptmon.example/scripts/BFI4/PICK-WS-07/rates",
  );
  const long = formatAlertShort(testAlert({ title: "t".repeat(500) }));
  assert.equal(long.length, SMS_MAX_CHARS);
  assert.ok(long.endsWith("…"));
});

import assert from "node:assert/strict";
import { DEFAULT_WINDOW_MS, exportWindow, parseTime } from "./window.ts";

const NOW = Date.parse("2026-05-31T12:00:00Z");

Deno.test("exportWindow() defaults to the 30 days before now, or before until", () => {
  assert.deepEqual(exportWindow({}, NOW), { since: NOW - DEFAULT_WINDOW_MS, until: NOW });
  const until = Date.parse("2026-03-01T00:00:00Z");
  assert.deepEqual(exportWindow({ until }, NOW), { since: until - 30 * 86_400_000, until });
  assert.deepEqual(exportWindow({ since: 0 }, NOW), { since: 0, until: NOW });
});

Deno.test("exportWindow() refuses an until that is not after since, naming both", () => {
  assert.throws(() => exportWindow({ since: NOW, until: NOW }, NOW), {
    name: "RangeError",
    message:
      "until: expected a time after since (2026-05-31T12:00:00.000Z), got 2026-05-31T12:00:00.000Z",
  });
});

Deno.test("parseTime() takes ISO days and times and names the option of anything else", () => {
  assert.equal(parseTime("--since", "2026-05-01"), Date.parse("2026-05-01T00:00:00Z"));
  assert.equal(
    parseTime("--since", "2026-05-01T12:00:00+02:00"),
    Date.parse("2026-05-01T10:00:00Z"),
  );
  assert.throws(() => parseTime("--since", "last week"), {
    name: "RangeError",
    message: '--since: expected an ISO time like "2026-05-01T12:00:00Z", got "last week"',
  });
});

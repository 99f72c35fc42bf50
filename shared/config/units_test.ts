import assert from "node:assert/strict";
import { formatBytes, formatDuration, parseDuration, parseSize } from "./units.ts";

Deno.test("parseDuration() reads each unit into milliseconds", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("1d"), 86_400_000);
  assert.equal(parseDuration("0s"), 0);
});

Deno.test("parseDuration() adds compound parts, with or without a space", () => {
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1h 30m"), 5_400_000);
  assert.equal(parseDuration("1m30s500ms"), 90_500);
});

Deno.test("parseDuration() accepts decimals and rounds to whole milliseconds", () => {
  assert.equal(parseDuration("1.5s"), 1_500);
  assert.equal(parseDuration("0.5ms"), 1);
});

Deno.test("parseDuration() rejects text that is not a duration, naming the value", () => {
  for (
    const text of [
      "",
      "soon",
      "10",
      "0",
      "-5s",
      "5 s",
      "1h ",
      " 1h",
      "30m1h",
      "1m1m",
      "5min",
      "1e3s",
    ]
  ) {
    assert.throws(() => parseDuration(text), {
      name: "SyntaxError",
      message: `Expected a duration like "30s", "5m" or "1h30m", got ${JSON.stringify(text)}`,
    });
  }
});

Deno.test("parseDuration() rejects a value that is not a string with TypeError", () => {
  assert.throws(() => parseDuration(30 as unknown as string), TypeError);
});

Deno.test("parseSize() reads decimal units as powers of 1000", () => {
  assert.equal(parseSize("100B"), 100);
  assert.equal(parseSize("512KB"), 512_000);
  assert.equal(parseSize("10MB"), 10_000_000);
  assert.equal(parseSize("1.5MB"), 1_500_000);
  assert.equal(parseSize("1GB"), 1_000_000_000);
});

Deno.test("parseSize() reads binary units as powers of 1024", () => {
  assert.equal(parseSize("1KiB"), 1024);
  assert.equal(parseSize("10MiB"), 10 * 1024 * 1024);
  assert.equal(parseSize("1GiB"), 1024 ** 3);
});

Deno.test("parseSize() ignores unit case and allows one space", () => {
  assert.equal(parseSize("10mb"), 10_000_000);
  assert.equal(parseSize("12.3 MB"), 12_300_000);
});

Deno.test("parseSize() rejects text that is not a size, naming the value", () => {
  for (const text of ["", "10", "ten MB", "10 XB", "-1MB", "10M", "10  MB"]) {
    assert.throws(() => parseSize(text), {
      name: "SyntaxError",
      message: `Expected a size like "512KB", "10MB" or "1GiB", got ${JSON.stringify(text)}`,
    });
  }
});

Deno.test("formatDuration() shows milliseconds, seconds, then the two largest units", () => {
  assert.equal(formatDuration(350), "350ms");
  assert.equal(formatDuration(1_500), "1.5s");
  assert.equal(formatDuration(12_000), "12s");
  assert.equal(formatDuration(90_000), "1m 30s");
  assert.equal(formatDuration(3_900_000), "1h 5m");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatDuration(183_600_000), "2d 3h");
  assert.equal(formatDuration(0), "0ms");
});

Deno.test("formatDuration() output parses back to the same value when exact", () => {
  for (const ms of [350, 12_000, 90_000, 3_900_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

Deno.test("formatDuration() rejects negative input with RangeError", () => {
  assert.throws(() => formatDuration(-1), {
    name: "RangeError",
    message: "Expected a duration of zero or more milliseconds, got -1",
  });
});

Deno.test("formatBytes() uses decimal units with one decimal", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1_000), "1 KB");
  assert.equal(formatBytes(12_345_678), "12.3 MB");
  assert.equal(formatBytes(999_960), "1 MB");
  assert.equal(formatBytes(2e9), "2 GB");
  assert.equal(parseSize(formatBytes(12_300_000)), 12_300_000);
});

Deno.test("formatBytes() rejects negative input with RangeError", () => {
  assert.throws(() => formatBytes(-5), {
    name: "RangeError",
    message: "Expected a byte count of zero or more, got -5",
  });
});

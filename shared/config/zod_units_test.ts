import assert from "node:assert/strict";
import {
  bytesOf,
  duration,
  durationAtLeast,
  msOf,
  positiveDuration,
  size,
  textOf,
  timezone,
} from "./zod_units.ts";

const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.success ? [] : result.error!.issues.map((i) => i.message);

Deno.test("duration and size take their text and name what they expected and got", () => {
  assert.deepEqual(messages(duration.safeParse("1h30m")), []);
  assert.deepEqual(messages(duration.safeParse("soon")), [
    'expected a duration like "30s", "5m" or "1h30m", got "soon"',
  ]);
  assert.deepEqual(messages(size.safeParse("10MB")), []);
  assert.deepEqual(messages(size.safeParse("big")), [
    'expected a size like "512KB", "10MB" or "1GiB", got "big"',
  ]);
});

Deno.test("duration and size parse their text once, keeping it beside the number", () => {
  assert.deepEqual(duration.parse("1h30m"), { text: "1h30m", ms: 5_400_000 });
  assert.deepEqual(size.parse("10MB"), { text: "10MB", bytes: 10_000_000 });
  assert.deepEqual(positiveDuration.parse("90s"), { text: "90s", ms: 90_000 });
});

Deno.test("msOf(), bytesOf() and textOf() take a parsed value or a default written as text", () => {
  assert.equal(msOf(duration.parse("2m")), 120_000);
  assert.equal(msOf("2m"), 120_000);
  assert.equal(bytesOf(size.parse("1KiB")), 1024);
  assert.equal(bytesOf("1KiB"), 1024);
  assert.equal(textOf(duration.parse("90s")), "90s");
  assert.equal(textOf("90s"), "90s");
});

Deno.test("a bounded duration reports a bad text once and a short one by its bound", () => {
  assert.deepEqual(messages(positiveDuration.safeParse("0s")), [
    'expected a duration > 0, got "0s"',
  ]);
  assert.deepEqual(messages(positiveDuration.safeParse("soon")), [
    'expected a duration like "30s", "5m" or "1h30m", got "soon"',
  ]);
  assert.deepEqual(messages(durationAtLeast(1000, ">= 1s").safeParse("500ms")), [
    'expected a duration >= 1s, got "500ms"',
  ]);
});

Deno.test("timezone takes IANA names and refuses others by name", () => {
  assert.deepEqual(messages(timezone.safeParse("Europe/Berlin")), []);
  assert.deepEqual(messages(timezone.safeParse("Mars/Olympus")), [
    'expected an IANA time zone like "Europe/Berlin" or "UTC", got "Mars/Olympus"',
  ]);
});

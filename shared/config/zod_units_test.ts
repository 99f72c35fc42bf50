import assert from "node:assert/strict";
import { z } from "zod";
import {
  duration,
  durationAtLeast,
  namedRecord,
  positiveDuration,
  size,
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

Deno.test("namedRecord() refuses bad and reserved names, each at its own path, all at once", () => {
  const scripts = namedRecord(z.object({ command: z.string() }), "script", {
    reserved: { all: "`all` names every script" },
  });
  const result = scripts.safeParse({
    ok: { command: "x" },
    "bad name": { command: "x" },
    all: { command: "x" },
  });
  assert.equal(result.success, false);
  assert.deepEqual(result.error!.issues.map((i) => [i.path.join("."), i.message]), [
    ["bad name", 'expected a script name of letters, digits, "_" and "-", got "bad name"'],
    ["all", '"all" cannot name a script: `all` names every script'],
  ]);
});

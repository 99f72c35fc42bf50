import assert from "node:assert/strict";
import { instantAt, wallClock } from "./_zone.ts";

const at = (iso: string) => Date.parse(iso);
/** A local wall-clock time written as though it were UTC. */
const wall = (local: string) => Date.parse(`${local}Z`);

Deno.test("wallClock() reads the local time on both sides of a DST change", () => {
  const zone = "America/New_York";
  assert.equal(wallClock(zone, at("2026-03-08T06:59:00Z")), wall("2026-03-08T01:59:00"));
  assert.equal(wallClock(zone, at("2026-03-08T07:00:00Z")), wall("2026-03-08T03:00:00"));
  assert.equal(wallClock("Asia/Kolkata", at("2026-06-10T00:00:00Z")), wall("2026-06-10T05:30:00"));
});

Deno.test("instantAt() is the inverse of wallClock() away from DST changes", () => {
  assert.equal(instantAt("Europe/Berlin", wall("2026-06-10T08:00:00")), at("2026-06-10T06:00:00Z"));
  assert.equal(instantAt("Europe/Berlin", wall("2026-12-10T08:00:00")), at("2026-12-10T07:00:00Z"));
  assert.equal(instantAt("UTC", wall("2026-12-10T08:00:00")), at("2026-12-10T08:00:00Z"));
});

Deno.test("instantAt() maps a skipped local time forward to the instant the clocks jump", () => {
  // New York 2026-03-08: 02:00 EST became 03:00 EDT at 07:00 UTC.
  const jump = at("2026-03-08T07:00:00Z");
  assert.equal(instantAt("America/New_York", wall("2026-03-08T02:00:00")), jump);
  assert.equal(instantAt("America/New_York", wall("2026-03-08T02:30:00")), jump);
  assert.equal(instantAt("America/New_York", wall("2026-03-08T03:00:00")), jump);
  assert.equal(instantAt("America/New_York", wall("2026-03-08T01:59:00")), jump - 60_000);
  // Berlin 2026-03-29: 02:00 CET became 03:00 CEST at 01:00 UTC.
  assert.equal(
    instantAt("Europe/Berlin", wall("2026-03-29T02:15:00")),
    at("2026-03-29T01:00:00Z"),
  );
});

Deno.test("instantAt() maps a repeated local time to its first occurrence", () => {
  // New York 2026-11-01: 01:30 happens at 05:30 UTC (EDT), then again at 06:30 UTC (EST).
  assert.equal(
    instantAt("America/New_York", wall("2026-11-01T01:30:00")),
    at("2026-11-01T05:30:00Z"),
  );
  // Berlin 2026-10-25: 02:30 happens at 00:30 UTC (CEST), then again at 01:30 UTC (CET).
  assert.equal(
    instantAt("Europe/Berlin", wall("2026-10-25T02:30:00")),
    at("2026-10-25T00:30:00Z"),
  );
});

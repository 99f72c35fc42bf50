import assert from "node:assert/strict";
import { MAX_DATA_DEPTH, MAX_VALUE_CHARS, nestsDeeper, scriptChunks, toStored } from "./_writes.ts";
import { Store } from "./store.ts";
import { events, ingestRequest, script } from "../_testing.ts";

/** `{"a": {"a": ... 1}}`, `depth` objects deep. */
function deep(depth: number): Record<string, unknown> {
  return JSON.parse('{"a":'.repeat(depth) + "1" + "}".repeat(depth));
}

Deno.test("nestsDeeper() counts objects and arrays, and not scalars", () => {
  assert.equal(nestsDeeper({ a: [1, { b: 2 }] }, 3), false);
  assert.equal(nestsDeeper({ a: [1, { b: {} }] }, 3), true);
  assert.equal(nestsDeeper("text", 0), false);
  assert.equal(nestsDeeper(deep(100_000), MAX_DATA_DEPTH), true);
});

Deno.test("toStored() keeps only the size of event data nested too deep for KV", () => {
  const [event] = events([1]);
  const stored = toStored("BFI4", "ws-01", { ...event, data: deep(3000) }, 0);
  assert.deepEqual(stored.data, { truncated: true, size: 3000 * 5 + 1 + 3000 });
  const shallow = toStored("BFI4", "ws-01", { ...event, data: deep(MAX_DATA_DEPTH - 1) }, 0);
  assert.deepEqual(shallow.data, deep(MAX_DATA_DEPTH - 1));
});

Deno.test("an ingest with deeply nested event data leaves the events listable", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const [event] = events([1]);
    const request = ingestRequest({ events: [{ ...event, data: deep(3000) }] });
    assert.equal((await store.ingest(request, { now: Date.now(), tokenName: "t" })).stored, 1);
    const page = await store.listEvents({ limit: 10 });
    assert.deepEqual(page.events.map((e) => e.data.truncated), [true]);
  } finally {
    kv.close();
  }
});

Deno.test("scriptChunks() cuts the reasons of a script too big for one value, and only its", () => {
  const checks = Array.from({ length: 100 }, (_, i) => ({
    name: `check_${i}`,
    status: "failing" as const,
    reason: "r".repeat(1000),
  }));
  const big = script("big", { checks, reason: "x".repeat(1000) });
  const small = script("small", { reason: "y".repeat(1000) });
  const [first, second] = scriptChunks("BFI4", "ws-01", [big, small]);
  const [[, stored]] = first.sets as [Deno.KvKey, typeof big[]][];
  assert.ok(JSON.stringify(stored).length <= MAX_VALUE_CHARS);
  assert.equal(stored[0].reason, "x".repeat(200));
  assert.deepEqual(stored[0].checks.map((c) => c.reason.length), checks.map(() => 100));
  const [[, next]] = (second ?? first).sets as [Deno.KvKey, typeof big[]][];
  assert.deepEqual(next.at(-1), small, "a script that fits is stored whole");
});

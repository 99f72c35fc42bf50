import assert from "node:assert/strict";
import { MAX_DATA_DEPTH, nestsDeeper, toStored } from "./_writes.ts";
import { Store } from "./store.ts";
import { events, ingestRequest } from "../_testing.ts";

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

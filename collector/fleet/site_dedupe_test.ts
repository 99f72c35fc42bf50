import assert from "node:assert/strict";
import { dedupeResponseSchema } from "../../shared/protocol.ts";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { SiteDedupe } from "./site_dedupe.ts";
import { Store } from "../store/store.ts";

async function withDedupe(fn: (dedupe: SiteDedupe) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-dedupe-" });
  const kv = await Deno.openKv(`${dir}/collector.kv`);
  try {
    await fn(new SiteDedupe(kv));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const T0 = Date.parse("2026-05-01T12:00:00Z");
const CLAIM = { site: "BFI4", key: "ops:abc123", windowMs: 60_000, by: "BFI4/ws-01" };

Deno.test("claim() gets a new key once; a second claim within the window is refused", () =>
  withDedupe(async (dedupe) => {
    assert.equal(await dedupe.claim({ ...CLAIM, now: T0 }), true);
    assert.equal(await dedupe.claim({ ...CLAIM, by: "BFI4/ws-07", now: T0 + 59_999 }), false);
  }));

Deno.test("claim() takes over a claim older than its window", () =>
  withDedupe(async (dedupe) => {
    await dedupe.claim({ ...CLAIM, now: T0 });
    assert.equal(await dedupe.claim({ ...CLAIM, by: "BFI4/ws-07", now: T0 + 60_000 }), true);
    assert.equal(await dedupe.claim({ ...CLAIM, now: T0 + 60_001 }), false);
  }));

Deno.test("claim() keeps sites and keys apart, and takes keys longer than KV allows", () =>
  withDedupe(async (dedupe) => {
    await dedupe.claim({ ...CLAIM, now: T0 });
    assert.equal(await dedupe.claim({ ...CLAIM, site: "SEA8", now: T0 }), true);
    assert.equal(await dedupe.claim({ ...CLAIM, key: "ops:other", now: T0 }), true);
    assert.equal(await dedupe.claim({ ...CLAIM, key: "é".repeat(1000), now: T0 }), true);
  }));

Deno.test("of many agents claiming one key at once, exactly one gets it", () =>
  withDedupe(async (dedupe) => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => dedupe.claim({ ...CLAIM, by: `BFI4/ws-${i}`, now: T0 })),
    );
    assert.equal(results.filter(Boolean).length, 1);
  }));

Deno.test("POST /api/v1/dedupe claims once per site and window", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const app = createApp({
      store,
      config: parseConfig("", { path: "/tmp/collector.toml", vars: {} }),
      clock: { now: () => T0 },
    });
    const tokens: Record<string, string> = {};
    for (const host of ["ws-01", "ws-07"]) {
      tokens[host] = (await store.createToken({ kind: "agent", name: host, site: "BFI4", now: T0 }))
        .token;
    }
    const post = async (host: string) => {
      const response = await app.request(`/api/v1/dedupe?host=${host}`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens[host]}`, "content-type": "application/json" },
        body: JSON.stringify({ key: "ops:abc", windowMs: 60_000 }),
      });
      assert.equal(response.status, 200);
      return dedupeResponseSchema.parse(await response.json());
    };
    assert.deepEqual(await post("ws-01"), { claimed: true });
    assert.deepEqual(await post("ws-07"), { claimed: false });
  } finally {
    kv.close();
  }
});

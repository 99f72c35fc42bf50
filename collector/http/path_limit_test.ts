import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { Store } from "../store/store.ts";
import { MAX_SEGMENT_CHARS } from "./path_limit.ts";

async function withApp(fn: (app: ReturnType<typeof createApp>, token: string) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
    const { token } = await store.createToken({
      kind: "api",
      name: "t",
      role: "admin",
      now: Date.now(),
    });
    await fn(createApp({ store, config }), token);
  } finally {
    kv.close();
  }
}

Deno.test("a path segment too long for any KV key is a 404 naming the limit, not a 500", () =>
  withApp(async (app, token) => {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    for (
      const [method, path] of [
        ["POST", `/api/v1/alerts/${"A".repeat(5000)}/ack`],
        ["GET", `/api/v1/agents/${"%41".repeat(1000)}/ws-01`],
      ]
    ) {
      const res = await app.request(path, {
        method,
        headers,
        body: method === "GET" ? null : "{}",
      });
      assert.equal(res.status, 404, `${method} ${path.slice(0, 40)}`);
      assert.match((await res.json()).error, new RegExp(`at most ${MAX_SEGMENT_CHARS}`));
    }
  }));

Deno.test("a path segment within the limit reaches its route", () =>
  withApp(async (app, token) => {
    const res = await app.request(`/api/v1/alerts/${"A".repeat(MAX_SEGMENT_CHARS)}/ack`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 404);
    assert.match((await res.json()).error, /^No alert "A+"/);
  }));

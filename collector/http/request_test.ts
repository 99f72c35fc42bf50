import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { HttpError } from "./http_error.ts";
import { Store } from "../store/store.ts";
import { readForm } from "./request.ts";

Deno.test("readForm() refuses a form that does not parse with a 400 naming why", async () => {
  const app = new Hono();
  app.post("/", async (c) => c.json(await readForm(c)));
  app.onError((error, c) =>
    error instanceof HttpError ? c.json({ error: error.message }, error.status) : c.text("", 500)
  );
  for (const type of ["multipart/form-data", "multipart/form-data; boundary=xyz"]) {
    const res = await app.request("/", {
      method: "POST",
      headers: { "content-type": type },
      body: "a=1",
    });
    assert.equal(res.status, 400, type);
    assert.match(
      (await res.json()).error,
      /^body: expected a form, got one that does not parse \(/,
    );
  }
  const ok = await app.request("/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "a=1&b=%ZZ",
  });
  assert.equal(ok.status, 200);
});

Deno.test("POST /login with a multipart type and no boundary is a 400, not a 500", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
    const app = createApp({ store: new Store(kv), config });
    const res = await app.request("http://127.0.0.1/login", {
      method: "POST",
      headers: { "content-type": "multipart/form-data", origin: "http://127.0.0.1" },
      body: "username=a&password=b",
    });
    assert.equal(res.status, 400);
    await res.body?.cancel();
  } finally {
    kv.close();
  }
});

Deno.test("a query value too long for any KV key, or a cursor KV cannot read, is a 400", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
    const app = createApp({ store, config });
    const { token } = await store.createToken({ kind: "api", name: "t", now: Date.now() });
    const cases: [string, RegExp][] = [
      [
        `/api/v1/reports/uptime?site=${"s".repeat(5000)}`,
        /^site: expected at most 512 bytes, got 5000$/,
      ],
      [
        `/api/v1/agents?site=${"\u4e00".repeat(200)}`,
        /^site: expected at most 512 bytes, got 600$/,
      ],
      [`/api/v1/events?cursor=%F0%9D%95%8F`, /^cursor: expected a cursor from a previous page/],
      [
        `/api/v1/events?cursor=${"a".repeat(5000)}`,
        /^cursor: expected a cursor from a previous page/,
      ],
    ];
    for (const [path, message] of cases) {
      const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 400, path.slice(0, 60));
      assert.match((await res.json()).error, message);
    }
    const ok = await app.request(`/api/v1/agents?site=${"s".repeat(512)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.deepEqual([ok.status, await ok.json()], [200, { agents: [] }]);
  } finally {
    kv.close();
  }
});

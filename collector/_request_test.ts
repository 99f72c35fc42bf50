import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "./app.ts";
import { parseConfig } from "./config.ts";
import { HttpError } from "./http_error.ts";
import { Store } from "./store.ts";
import { readForm } from "./_request.ts";

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

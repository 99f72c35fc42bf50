import assert from "node:assert/strict";
import type { ResolvedCollectorLink } from "../../shared/agent_config/types.ts";
import { SiteClaims } from "./site_claim.ts";

const LINK: ResolvedCollectorLink = {
  url: "http://127.0.0.1:9/scriptmon/",
  urls: ["http://127.0.0.1:9/scriptmon/"],
  token: "t0ken",
  heartbeatIntervalMs: 10_000,
  batchSize: 500,
  spoolLimit: 1000,
  timeoutMs: 1000,
  leaseTtlMs: 15_000,
};

Deno.test("claim() posts the key and window with the token and ?host=, and reads claimed", async () => {
  const seen: { url: string; auth: string | null; body: unknown }[] = [];
  const claims = new SiteClaims({
    config: LINK,
    host: "ws-01",
    fetch: (input, init) => {
      seen.push({
        url: String(input),
        auth: new Headers(init?.headers).get("authorization"),
        body: JSON.parse(String(init?.body)),
      });
      return Promise.resolve(Response.json({ claimed: seen.length === 1 }));
    },
  });
  assert.equal(await claims.claim("k1", 600_000), true);
  assert.equal(await claims.claim("k1", 600_000), false);
  assert.deepEqual(seen[0], {
    url: "http://127.0.0.1:9/scriptmon/api/v1/dedupe?host=ws-01",
    auth: "Bearer t0ken",
    body: { key: "k1", windowMs: 600_000 },
  });
});

Deno.test("claim() throws, naming the status, when the collector refuses", async () => {
  const claims = new SiteClaims({
    config: LINK,
    host: "ws-01",
    fetch: () => Promise.resolve(Response.json({ error: "Unknown token" }, { status: 401 })),
  });
  await assert.rejects(claims.claim("k1", 1000), {
    name: "Error",
    message: 'HTTP 401: {"error":"Unknown token"}',
  });
});

Deno.test("claim() gives up after its timeout when the collector does not answer", async () => {
  const claims = new SiteClaims({
    config: { ...LINK, timeoutMs: 100 },
    host: "ws-01",
    fetch: (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      }),
  });
  await assert.rejects(claims.claim("k1", 1000), { message: "no answer within 100ms" });
});

import assert from "node:assert/strict";
import { classifyResponse, cutBytes, parseRetryAfter, post, redact } from "./_http.ts";
import { withRecordingServer } from "./_recording_server.ts";

const NOW = Date.parse("2025-03-04T05:06:07Z");
const deps = { fetch, now: () => NOW };

Deno.test("post() turns a 500 into a retryable failure with the provider's answer", async () => {
  await withRecordingServer([{ status: 500, body: "upstream broke" }], async (server) => {
    const result = await post(deps, { url: `${server.url}/hook`, headers: {}, body: "{}" });
    assert.deepEqual(result, {
      ok: false,
      retryable: true,
      status: 500,
      answer: "upstream broke",
      error: "provider answered 500 Internal Server Error: upstream broke",
    });
  });
});

Deno.test("post() reads a 429's Retry-After in seconds into retryAfterMs", async () => {
  await withRecordingServer(
    [{ status: 429, body: "slow down", headers: { "retry-after": "7" } }],
    async (server) => {
      const result = await post(deps, { url: server.url, headers: {}, body: "{}" });
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.retryable);
      assert.equal(!result.ok && result.retryAfterMs, 7000);
    },
  );
});

Deno.test("post() reads a 429's Retry-After HTTP date relative to now()", async () => {
  await withRecordingServer(
    [{ status: 429, headers: { "retry-after": "Tue, 04 Mar 2025 05:07:07 GMT" } }],
    async (server) => {
      const result = await post(deps, { url: server.url, headers: {}, body: "{}" });
      assert.ok(!result.ok && result.retryable && result.retryAfterMs === 60_000);
    },
  );
});

Deno.test("post() makes a 400 permanent and a 408 retryable", async () => {
  await withRecordingServer(
    [{ status: 400, body: "invalid_payload" }, { status: 408 }],
    async (server) => {
      const bad = await post(deps, { url: server.url, headers: {}, body: "{}" });
      assert.deepEqual(bad, {
        ok: false,
        retryable: false,
        status: 400,
        answer: "invalid_payload",
        error: "provider answered 400 Bad Request: invalid_payload",
      });
      const slow = await post(deps, { url: server.url, headers: {}, body: "{}" });
      assert.ok(!slow.ok && slow.retryable && slow.status === 408);
    },
  );
});

Deno.test("post() cuts a long answer to 2 KiB and redacts secrets from it", async () => {
  await withRecordingServer(
    [{ status: 403, body: `token hunter2-token rejected ${"x".repeat(5000)}` }],
    async (server) => {
      const result = await post(deps, {
        url: server.url,
        headers: {},
        body: "{}",
        secrets: ["hunter2-token"],
      });
      assert.ok(!result.ok && !result.retryable);
      assert.ok(result.answer!.startsWith("token [redacted] rejected xxx"));
      assert.ok(new TextEncoder().encode(result.answer!).length <= 2048);
    },
  );
});

Deno.test("post() reports a refused connection as retryable without the URL's token", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `http://127.0.0.1:${port}/services/T000/B000/SECRETTOKEN`;
  const result = await post(deps, { url, headers: {}, body: "{}" });
  assert.ok(!result.ok && result.retryable);
  assert.ok(result.error.startsWith(`POST http://127.0.0.1:${port}/... failed: `), result.error);
  assert.doesNotMatch(result.error, /SECRETTOKEN/);
});

Deno.test("post() that times out after sending is uncertain, never retried blindly", async () => {
  const hung = Promise.withResolvers<void>();
  const received: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push(req.headers.get("idempotency-key") ?? "");
    await hung.promise;
    return new Response("late");
  });
  try {
    const result = await post(deps, {
      url: `http://127.0.0.1:${server.addr.port}/`,
      headers: {},
      body: "{}",
      timeoutMs: 50,
      idempotencyKey: "msg-0001",
    });
    assert.deepEqual(result, {
      ok: false,
      retryable: false,
      uncertain: true,
      error:
        `POST http://127.0.0.1:${server.addr.port} failed: timed out after 50ms; it may have been delivered`,
    });
    assert.deepEqual(received, ["msg-0001"], "the request reached the server with its key");
  } finally {
    hung.resolve();
    await server.shutdown();
  }
});

Deno.test("post() to a port that refuses is retryable: the request never left", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const result = await post(deps, { url: `http://127.0.0.1:${port}/`, headers: {}, body: "{}" });
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.retryable, true);
  assert.equal(!result.ok && result.uncertain, undefined);
});

Deno.test("post() rethrows the caller's abort instead of calling it a failure", async () => {
  const hung = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await hung.promise;
    return new Response("late");
  });
  try {
    const controller = new AbortController();
    const sending = post(deps, {
      url: `http://127.0.0.1:${server.addr.port}/`,
      headers: {},
      body: "{}",
      signal: controller.signal,
    });
    controller.abort(new Error("stopping"));
    await assert.rejects(sending, { message: "stopping" });
  } finally {
    hung.resolve();
    await server.shutdown();
  }
});

Deno.test("parseRetryAfter() ignores absent and malformed values", () => {
  assert.equal(parseRetryAfter(null, NOW), undefined);
  assert.equal(parseRetryAfter("soon", NOW), undefined);
  assert.equal(parseRetryAfter("1.5", NOW), 1500);
  assert.equal(parseRetryAfter("Tue, 04 Mar 2025 05:00:00 GMT", NOW), 0);
});

Deno.test("classifyResponse() lets a provider rule make a 400 retryable", () => {
  const result = classifyResponse({
    status: 400,
    answer: "<Code>Throttling</Code>",
    retryAfter: null,
    nowMs: NOW,
    retryable: (_status, answer) => answer.includes("Throttling"),
  });
  assert.ok(!result.ok && result.retryable);
});

Deno.test("cutBytes() never splits a UTF-8 character and redact() hides URL paths", () => {
  assert.equal(cutBytes("aé", 2), "a");
  assert.equal(
    redact("failed for https://hooks.example/services/T/B/X", [
      "https://hooks.example/services/T/B/X",
    ]),
    "failed for https://hooks.example/...",
  );
});

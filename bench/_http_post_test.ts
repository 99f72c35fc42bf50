import assert from "node:assert/strict";
import { Poster } from "./_http_post.ts";

/** A server on a loopback port answering by `handler`; each request's body and client port. */
function serve(handler: (body: string) => Response | Promise<Response>) {
  const seen: { body: string; port: number; auth: string | null }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req, info) => {
      const body = await req.text();
      seen.push({ body, port: info.remoteAddr.port, auth: req.headers.get("authorization") });
      return await handler(body);
    },
  );
  return { server, seen, base: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("posts keep one connection alive and read sized, chunked and empty answers", async () => {
  let kind: "sized" | "chunked" | "empty" = "sized";
  const { server, seen, base } = serve((body) => {
    if (kind === "sized") return Response.json({ echo: JSON.parse(body) }, { status: 201 });
    if (kind === "empty") return new Response(null, { status: 204 });
    const parts = ['{"a":', '"é"', "}"].map((p) => new TextEncoder().encode(p));
    return new Response(ReadableStream.from(parts), { status: 200 });
  });
  const poster = new Poster(base);
  const signal = new AbortController().signal;
  try {
    const first = await poster.post("/x", '{"n":1}', { authorization: "Bearer t" }, 5_000, signal);
    assert.deepEqual(first, { status: 201, body: '{"echo":{"n":1}}' });
    kind = "chunked";
    const second = await poster.post("/x", '{"n":2}', {}, 5_000, signal);
    assert.deepEqual(second, { status: 200, body: '{"a":"é"}' });
    kind = "empty";
    const third = await poster.post("/x", '{"n":3}', {}, 5_000, signal);
    assert.deepEqual(third, { status: 204, body: "" });
    assert.deepEqual(seen.map((s) => s.body), ['{"n":1}', '{"n":2}', '{"n":3}']);
    assert.equal(seen[0].auth, "Bearer t");
    assert.deepEqual(
      seen.map((s) => s.port),
      Array(3).fill(seen[0].port),
      "one connection for all",
    );
  } finally {
    poster.close();
    await server.shutdown();
  }
});

/** How `post` settled: its error, "answered", or "still waiting" after 5 s (a test never hangs). */
async function outcome(post: Promise<unknown>): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise((done) => timer = setTimeout(() => done("still waiting"), 5_000));
  try {
    return await Promise.race([post.then(() => "answered", (error) => error), waited]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a post not answered in time, or aborted, fails and frees its connection", async () => {
  const held: ((answer: Response) => void)[] = [];
  const { server, base } = serve(() => new Promise((answer) => held.push(answer)));
  const poster = new Poster(base);
  try {
    const late = await outcome(poster.post("/slow", "{}", {}, 50, new AbortController().signal));
    assert.ok(late instanceof Error, `a post past its time failed, got ${late}`);
    const abort = new AbortController();
    const pending = poster.post("/slow", "{}", {}, 60_000, abort.signal);
    abort.abort();
    const aborted = await outcome(pending);
    assert.ok(aborted instanceof Error, `an aborted post failed, got ${aborted}`);
  } finally {
    poster.close();
    for (const answer of held) answer(new Response("late"));
    await server.shutdown();
  }
});

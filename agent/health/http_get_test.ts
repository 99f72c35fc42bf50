import assert from "node:assert/strict";
import { httpGet, type HttpGetOptions, HttpProtocolError } from "./http_get.ts";

const encoder = new TextEncoder();

/**
 * A real TCP server on 127.0.0.1 that answers each connection with `answer(requestHead)`, byte
 * for byte; with `keepOpen` it leaves the connection open after answering (a server that
 * ignores `Connection: close`) until the test is over. Returns the request heads it read.
 */
async function withRawServer(
  answer: (requestHead: string) => string | Uint8Array[],
  fn: (url: URL) => Promise<void>,
  { keepOpen = false } = {},
): Promise<string[]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  const conns: Deno.Conn[] = [];
  const handled: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      handled.push(
        (async () => {
          const head = await readRequestHead(conn);
          heads.push(head);
          const reply = answer(head);
          for (const part of typeof reply === "string" ? [encoder.encode(reply)] : reply) {
            await conn.write(part).catch(() => 0);
          }
          if (!keepOpen) conn.close();
        })().catch(() => {}),
      );
    }
  })();
  try {
    await fn(new URL(`http://127.0.0.1:${listener.addr.port}/health?x=1`));
  } finally {
    listener.close();
    await accepting.catch(() => {});
    await Promise.all(handled);
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // Closed by its handler.
      }
    }
  }
  return heads;
}

async function readRequestHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

function options(extra: Partial<HttpGetOptions> = {}): HttpGetOptions {
  return { method: "GET", bodyLimit: 1024 * 1024, signal: new AbortController().signal, ...extra };
}

/**
 * `httpGet` with a deadline: a client that waits for bytes the server never sends (reading a
 * body it should not, not stopping once the text is found) fails the test instead of hanging it.
 */
async function get(url: URL, extra: Partial<HttpGetOptions> = {}) {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error("httpGet waited 5s")), 5000);
  try {
    return await httpGet(url, options({ signal: deadline.signal, ...extra }));
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("httpGet sends one HTTP/1.1 request that asks for the connection to close", async () => {
  let port = "";
  const heads = await withRawServer(
    () => "HTTP/1.1 204 No Content\r\n\r\n",
    async (url) => {
      port = url.port;
      assert.equal((await get(url, { method: "POST" })).status, 204);
    },
  );
  assert.deepEqual(heads[0].trimEnd().split("\r\n"), [
    "POST /health?x=1 HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "User-Agent: scriptmon-probe",
    "Accept: */*",
    "Accept-Encoding: identity",
    "Connection: close",
    "Content-Length: 0",
  ]);
});

Deno.test("httpGet reads no body unless asked to find text in it", async () => {
  await withRawServer(
    // A body announced but never sent: reading it would wait for the test's end.
    () => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst bytes",
    async (url) => {
      assert.deepEqual(await get(url), { status: 200, location: null, text: "" });
    },
    { keepOpen: true },
  );
});

Deno.test("httpGet reads a Content-Length body to its end though the server keeps the connection", async () => {
  await withRawServer(
    () => "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nstatus: up!",
    async (url) => {
      const answer = await get(url, { find: "down" });
      assert.equal(answer.text, "status: up!");
    },
    { keepOpen: true },
  );
});

Deno.test("httpGet finds text split across chunks and across a UTF-8 character", async () => {
  const body = encoder.encode("état: healthy");
  // "é" is two bytes: the first chunk ends in the middle of it, the next in "hea|lthy".
  const chunks = [body.subarray(0, 1), body.subarray(1, 10), body.subarray(10)];
  const parts: Uint8Array[] = [
    encoder.encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
  ];
  for (const chunk of chunks) {
    parts.push(
      encoder.encode(`${chunk.length.toString(16)};ext=1\r\n`),
      chunk,
      encoder.encode("\r\n"),
    );
  }
  parts.push(encoder.encode("0\r\n\r\n"));
  await withRawServer(() => parts, async (url) => {
    assert.equal((await get(url, { find: "healthy" })).text, "état: healthy");
    assert.equal((await get(url, { find: "missing" })).text, "état: healthy");
  });
});

Deno.test("httpGet stops reading once the text is found or the limit is reached", async () => {
  await withRawServer(
    // A body that never ends: only stopping early returns.
    () => "HTTP/1.1 200 OK\r\n\r\nready " + "x".repeat(5000),
    async (url) => {
      assert.equal((await get(url, { find: "ready" })).text.startsWith("ready"), true);
      const limited = await get(url, { find: "never", bodyLimit: 1000 });
      assert.ok(
        limited.text.length >= 1000 && limited.text.length <= 5006,
        `${limited.text.length}`,
      );
    },
    { keepOpen: true },
  );
});

Deno.test("httpGet reads a body that ends with the connection (HTTP/1.0)", async () => {
  await withRawServer(() => "HTTP/1.0 200 OK\nServer: old\n\nall good", async (url) => {
    assert.deepEqual(await get(url, { find: "bad" }), {
      status: 200,
      location: null,
      text: "all good",
    });
  });
});

Deno.test("httpGet skips an interim 100 Continue and returns the final answer with its Location", async () => {
  await withRawServer(
    () =>
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
    async (url) => {
      assert.deepEqual(await get(url), {
        status: 302,
        location: "/elsewhere",
        text: "",
      });
    },
  );
});

Deno.test("httpGet reads no body after HEAD or a 304", async () => {
  await withRawServer(
    () => "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
    async (url) => {
      assert.equal((await get(url, { find: "x" })).status, 304);
      assert.equal((await get(url, { method: "HEAD", find: "x" })).status, 304);
    },
    { keepOpen: true },
  );
});

async function protocolError(reply: string, find?: string): Promise<string> {
  let message = "";
  await withRawServer(() => reply, async (url) => {
    const error = await get(url, { find }).then(
      () => assert.fail("expected an HttpProtocolError"),
      (error) => error,
    );
    assert.ok(error instanceof HttpProtocolError, String(error));
    message = error.message;
  });
  return message;
}

Deno.test("httpGet refuses what is not an HTTP/1.x response, naming what it got", async () => {
  assert.equal(
    await protocolError("SSH-2.0-OpenSSH_9.2\r\n"),
    'not an HTTP/1.x status line: "SSH-2.0-OpenSSH_9.2"',
  );
  assert.equal(await protocolError(""), "the connection closed before a response");
  assert.equal(
    await protocolError("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort", "x"),
    "the connection closed in the body",
  );
  assert.equal(
    await protocolError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "x"),
    'bad chunk size "zz"',
  );
  assert.equal(
    await protocolError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", "x"),
    "the connection closed in the body",
  );
});

Deno.test("httpGet refuses a status line and headers over 64 KiB", async () => {
  const header = `X-Filler: ${"y".repeat(1000)}\r\n`;
  assert.equal(
    await protocolError(`HTTP/1.1 200 OK\r\n${header.repeat(70)}\r\n`),
    "the response's status line and headers are longer than 65536 bytes",
  );
});

Deno.test("httpGet stops when its signal aborts while the server says nothing", async () => {
  await withRawServer(() => [], async (url) => {
    const ctl = new AbortController();
    const pending = httpGet(url, options({ signal: ctl.signal }));
    ctl.abort();
    await assert.rejects(pending);
  }, { keepOpen: true });
});

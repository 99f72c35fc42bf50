/**
 * For the channel tests: a real HTTP server on 127.0.0.1 that records each
 * request (method, path, headers, body) and answers from a script of
 * responses (then 200 "ok").
 *
 * @module
 */

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Headers;
  body: string;
}

/** A scripted answer. */
export interface ScriptedResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** A running recording server; `close()` stops it. */
export interface RecordingServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts a recording server that answers with `responses` in order, then 200. */
export function startRecordingServer(responses: ScriptedResponse[] = []): RecordingServer {
  const requests: RecordedRequest[] = [];
  const queue = [...responses];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    requests.push({
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body: await req.text(),
    });
    const next = queue.shift() ?? { status: 200, body: "ok" };
    const body = next.status === 204 || next.status === 304 ? null : next.body ?? "";
    return new Response(body, { status: next.status, headers: next.headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

/** Runs `fn` with a recording server and closes it after. */
export async function withRecordingServer(
  responses: ScriptedResponse[],
  fn: (server: RecordingServer) => Promise<void>,
): Promise<void> {
  const server = startRecordingServer(responses);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/**
 * For the outbox tests: a recording HTTP server on 127.0.0.1 that counts
 * the posts it receives by their `text`, and a tiny JSON channel that posts
 * there, mapping statuses the way real channels do.
 */
import type { Channel, Payload, SendResult } from "../shared/notify/mod.ts";

/** How the recorder answers one post. */
export interface RecorderAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (after counting the post). */
  delayMs?: number;
}

/** A running recording server. */
export interface Recorder extends AsyncDisposable {
  url: string;
  /** Posts received per text, in arrival order. */
  received: string[];
  /** How many posts carried `text`. */
  count(text: string): number;
  close(): Promise<void>;
}

/** Starts a recorder; `answer` decides each reply (default 200 "ok"). */
export function startRecorder(
  answer: (text: string, n: number) => RecorderAnswer = () => ({ status: 200, body: "ok" }),
): Recorder {
  const received: string[] = [];
  const counts = new Map<string, number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      let text: string;
      try {
        text = String((await request.json()).text);
      } catch {
        return new Response("unreadable", { status: 400 });
      }
      received.push(text);
      const n = (counts.get(text) ?? 0) + 1;
      counts.set(text, n);
      const reply = answer(text, n);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      return new Response(reply.body ?? "", { status: reply.status, headers: reply.headers });
    },
  );
  const close = async () => {
    await server.shutdown();
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    received,
    count: (text) => counts.get(text) ?? 0,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The text a payload is posted as. */
export function payloadText(payload: Payload): string {
  return payload.type === "test"
    ? payload.text
    : payload.type === "relay"
    ? payload.post.body
    : payload.alert.title;
}

/** A channel posting `{ text }` as JSON to `url`: 2xx sent, 408/429/5xx retryable, other 4xx permanent. */
export function jsonChannel(name: string, url: string): Channel {
  return {
    name,
    kind: "test-json",
    async send(payload, { signal }): Promise<SendResult> {
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text: payloadText(payload) }),
          signal,
        });
      } catch (error) {
        return { ok: false, retryable: true, error: (error as Error).message };
      }
      const answer = await response.text();
      const status = response.status;
      if (response.ok) return { ok: true, status, answer };
      const retryAfter = Number(response.headers.get("retry-after"));
      return {
        ok: false,
        retryable: status === 408 || status === 429 || status >= 500,
        status,
        answer,
        error: `the hook answered ${status}`,
        ...(status === 429 && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
    },
  };
}

/**
 * A Hono middleware that passes every text answer (JSON, plain text, HTML,
 * the metrics) through {@linkcode redact} once secrets are registered: an
 * error a provider or the collector echoed back must not carry a secret
 * into a status or an API answer. Streams (Server-Sent Events) and
 * compressed bodies are left as they are.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { redact, secretCount } from "./redact.ts";

const TEXT = /^(application\/json|text\/(plain|html|csv))/;

/** See the module doc. */
export function redactAnswers(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (secretCount() === 0 || c.res.body === null) return;
    const type = c.res.headers.get("content-type") ?? "";
    if (!TEXT.test(type) || c.res.headers.has("content-encoding")) return;
    const body = await c.res.clone().text();
    const clean = redact(body);
    if (clean === body) return;
    const headers = new Headers(c.res.headers);
    headers.delete("content-length");
    c.res = new Response(clean, { status: c.res.status, headers });
  };
}

/**
 * The agent's local API, served on 127.0.0.1 only: health, status, and the
 * control routes the CLI uses (those need the control secret).
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { getLogger } from "@logtape/logtape";
import { isPattern, NoMatchError, selectScripts } from "../supervise/select.ts";
import { type Supervisor, UnknownScriptError } from "../supervise/supervisor.ts";
import { PING_BODY_LIMIT } from "../health/types.ts";
import { renderMetrics } from "./metrics.ts";
import { type Notifier, UnknownWebhookError } from "../notify/notifier.ts";
import { parseSilenceRequest } from "../../shared/notify/silence_request.ts";
import { MESSAGE_STATES, type MessageState } from "../../shared/notify/types.ts";
import { redactAnswers } from "../../shared/redact_answers.ts";
import { MAX_RELAY_BODY_BYTES } from "../../shared/notify/outbox.ts";
import { renderStatusFragment, renderStatusPage } from "./status_page.tsx";
import type { AgentInfo, Readiness, StatusBody } from "./status.ts";
import type { TokenStatus } from "../tokens/types.ts";

/** What the API needs from the running agent. */
export interface ApiDeps {
  supervisor: Supervisor;
  info: () => AgentInfo;
  readiness: () => Promise<Readiness>;
  secret: string;
  /** Re-reads the config file now. */
  reload: () => Promise<void>;
  notifier: Notifier;
  /** The tokens' status (none when not given). */
  tokens?: () => TokenStatus[];
  /** Brings the scripts' resource samples and the store's measure up to date before a status answer. */
  fresh?: () => Promise<void>;
}

/** Relayed posts larger than this are refused with 413 (a KV value holds at most 64 KiB). */
export const RELAY_BODY_LIMIT = MAX_RELAY_BODY_BYTES;

const log = getLogger(["scriptmon", "api"]);
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Builds the local API app. */
export function createApi(deps: ApiDeps): Hono {
  const app = new Hono();
  app.use("*", redactAnswers());

  // Loopback only, and not reachable through DNS rebinding from a browser.
  app.use("*", async (c, next) => {
    const hostHeader = c.req.header("host") ?? "";
    const host = hostHeader.replace(/:\d+$/, "");
    if (!LOOPBACK_HOSTS.has(host)) {
      throw new HTTPException(421, { message: `Host "${host}" is not a loopback name` });
    }
    // Scripts and the CLI send neither header; a browser does. Only the agent's own page may
    // talk to it: a page elsewhere must not ping, relay into the chat channels, or control.
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    if (
      (site !== undefined && site !== "same-origin" && site !== "none") ||
      (origin !== undefined && origin !== `http://${hostHeader}`)
    ) {
      log.warn("Refused a cross-site {method} {path} from {origin}", {
        method: c.req.method,
        path: c.req.path,
        origin: origin ?? site,
      });
      throw new HTTPException(403, { message: "Cross-site requests are not accepted" });
    }
    await next();
  });
  const status = async (): Promise<StatusBody> => {
    await deps.fresh?.().catch((error) =>
      log.warn("Cannot measure resources or the store: {error}", { error })
    );
    return {
      agent: deps.info(),
      scripts: deps.supervisor.status(),
      tokens: deps.tokens?.() ?? [],
    };
  };

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    const checks = await deps.readiness();
    const ready = checks.config && checks.kv && checks.lock;
    return c.json({ ready, ...checks }, ready ? 200 : 503);
  });
  app.get("/api/status", async (c) => c.json(await status()));
  app.get(
    "/metrics",
    async (c) =>
      c.body(
        renderMetrics(await status(), { notifications: await deps.notifier.outbox.counts() }),
        200,
        {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
        },
      ),
  );
  app.get("/", async (c) => {
    if (c.req.query("fragment") !== undefined) return c.html(renderStatusFragment(await status()));
    const nonce = crypto.randomUUID().replaceAll("-", "");
    c.header(
      "content-security-policy",
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; " +
        "frame-ancestors 'none'",
    );
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    return c.html(renderStatusPage(await status(), { nonce }));
  });

  // Heartbeats: GET or POST, an optional body kept as the last message.
  for (const [suffix, kind] of [["", "success"], ["/start", "start"], ["/fail", "fail"]] as const) {
    app.on(["GET", "POST"], `/ping/:name${suffix}`, async (c) => {
      const body = c.req.method === "POST" ? await readCut(c.req.raw, PING_BODY_LIMIT) : null;
      deps.supervisor.ping(c.req.param("name"), kind, body);
      return c.text("OK");
    });
  }

  // The scripts' own webhook posts: the body exactly as the provider takes it.
  app.post(
    "/relay/:webhook",
    bodyLimit({
      maxSize: RELAY_BODY_LIMIT,
      onError: (c) =>
        c.json({ error: `A relayed post may be at most ${RELAY_BODY_LIMIT} bytes` }, 413),
    }),
    async (c) => {
      const body = await c.req.text();
      const contentType = c.req.header("content-type") ?? "application/json";
      const { id, duplicate, dedupe } = await deps.notifier.relay(
        c.req.param("webhook"),
        body,
        contentType,
        c.req.header("idempotency-key"),
      );
      if (duplicate) return c.json({ id, duplicate: true }, 200);
      // Attributed posts are counted per script: the collector learns what is usual for it.
      const script = c.req.query("script") ?? c.req.header("x-scriptmon-script");
      if (script !== undefined) deps.supervisor.notePost(script);
      if (dedupe === "agent") {
        const warning = "the collector could not be reached: deduplicated on this agent only";
        return c.json({ id, dedupe, warning }, 202);
      }
      return c.json({ id }, 202);
    },
  );
  app.get("/api/silences", (c) => c.json({ silences: deps.notifier.silences() }));

  const control = new Hono();
  control.use("*", bodyLimit({ maxSize: 64 * 1024 }));
  control.use("*", bearerAuth({ token: deps.secret }));
  for (const action of ["start", "stop", "restart"] as const) {
    // One script by name, or `all` / a glob: `start` by pattern leaves disabled scripts alone.
    control.post(`/scripts/:name/${action}`, async (c) => {
      const pattern = c.req.param("name");
      const statuses = deps.supervisor.status();
      const names = selectScripts(pattern, statuses.map((s) => s.name)).filter((name) =>
        action !== "start" || !isPattern(pattern) ||
        statuses.find((s) => s.name === name)?.enabled
      );
      log.info("Control request: {action} {scripts}", { action, scripts: names.join(", ") });
      await Promise.all(names.map((name) => deps.supervisor.get(name)[action]()));
      const scripts = names.map((name) => deps.supervisor.statusOf(name));
      return c.json(
        isPattern(pattern) ? { ok: true, scripts } : { ok: true, script: scripts[0], scripts },
      );
    });
  }
  control.get("/notifications", async (c) => {
    const state = c.req.query("state");
    if (state !== undefined && !MESSAGE_STATES.includes(state as MessageState)) {
      throw new HTTPException(400, {
        message: `state must be one of ${MESSAGE_STATES.join(", ")}, got "${state}"`,
      });
    }
    const since = c.req.query("since");
    if (since !== undefined && Number.isNaN(Date.parse(since))) {
      throw new HTTPException(400, { message: `since must be an ISO time, got "${since}"` });
    }
    const limit = Number(c.req.query("limit") ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new HTTPException(400, {
        message: `limit must be 1..10000, got "${c.req.query("limit")}"`,
      });
    }
    const messages = await deps.notifier.list({
      since,
      state: state as MessageState | undefined,
      channel: c.req.query("channel"),
      limit,
    });
    return c.json({ messages, counts: await deps.notifier.outbox.counts() });
  });
  control.post("/silences", async (c) => {
    const body = await c.req.json().catch(() => null);
    const silence = parseSilenceRequest(body, Date.now());
    return c.json({ silence: await deps.notifier.addSilence(silence) }, 201);
  });
  control.delete("/silences/:id", async (c) => {
    const removed = await deps.notifier.removeSilence(c.req.param("id"));
    if (!removed) throw new HTTPException(404, { message: `No silence "${c.req.param("id")}"` });
    return c.json({ ok: true });
  });
  control.post("/reload", async (c) => {
    await deps.reload();
    return c.json({ ok: deps.info().configError === null, agent: deps.info() });
  });
  app.route("/api", control);

  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof UnknownScriptError || error instanceof NoMatchError) {
      return c.json({ error: error.message, scripts: error.known }, 404);
    }
    if (error instanceof UnknownWebhookError) {
      return c.json({ error: error.message, webhooks: error.known }, 404);
    }
    if (error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError) {
      log.info("Refused {method} {path}: {message}", {
        method: c.req.method,
        path: c.req.path,
        message: error.message,
      });
      return c.json({ error: error.message }, 400);
    }
    if (error instanceof HTTPException) {
      return c.json({ error: error.message || "request refused" }, error.status);
    }
    log.error("Local API {method} {path} failed: {error}", {
      method: c.req.method,
      path: c.req.path,
      error,
    });
    return c.json({ error: "internal error; see the agent log" }, 500);
  });
  return app;
}

/** The request body as text, cut after `limit` bytes (the rest is not read). */
async function readCut(request: Request, limit: number): Promise<string | null> {
  if (!request.body) return null;
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value.subarray(0, limit - size));
      size += Math.min(value.byteLength, limit - size);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  // A cut in the middle of a character decodes to U+FFFD; drop it.
  return new TextDecoder().decode(bytes).replace(/\uFFFD$/, "") || null;
}

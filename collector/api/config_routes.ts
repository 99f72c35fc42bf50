/**
 * Central config under `/api/v1/config`: the documents (for the fleet, a
 * site, one agent), their versions with who, when and why, diffs, rollouts,
 * rollbacks, and what each agent runs. For admins of every site (`access.ts`).
 * A document's secrets come back sealed (`enc:v1:`), never in plain.
 *
 * @module
 */

import { Hono } from "hono";
import { z } from "zod";
import type { CollectorEnv } from "../auth/authenticate.ts";
import {
  type CentralConfig,
  type ChangeOptions,
  type ConfigScope,
  formatScope,
  parseScope,
  StaleBaseError,
  WebhookEditError,
} from "../central/mod.ts";
import { HttpError } from "../http/http_error.ts";
import { readBody } from "../http/request.ts";
import { queryInt } from "../http/request.ts";
import type { Store } from "../store/mod.ts";

const scopeText = z.string().max(250).describe(
  '"fleet", "env:<environment>", "site:<site>" or "agent:<site>/<host>"',
);
const why = z.string().trim().min(1, "say why (it goes on the version)").max(500);

/** A new text for a document. */
export const changeSchema = z.strictObject({
  text: z.string().max(200_000).describe("The document: TOML, the agent's schema"),
  why,
  rollout: scopeText.optional().describe("Who gets it first; default the fleet"),
  base: z.number().int().nonnegative().optional().describe(
    "The version the edit was made on: refused (409) when another came since",
  ),
});
/** A document to check without saving it. */
export const checkSchema = z.strictObject({
  scope: scopeText,
  text: z.string().max(200_000).describe("The document: TOML, the agent's schema"),
});
/** Why a document is removed. */
export const removeSchema = z.strictObject({
  why,
  base: z.number().int().nonnegative().optional(),
});
/** The version to restore, and why. */
export const rollbackSchema = z.strictObject({
  to: z.number().int().positive(),
  why,
  rollout: scopeText.optional(),
  base: z.number().int().nonnegative().optional(),
});
/** Who gets a version. */
export const rolloutSchema = z.strictObject({ to: scopeText });
/** A webhook's new URL (and kind for a new one), and why. */
export const webhookSchema = z.strictObject({
  url: z.string().min(1).max(2000).describe("The webhook's new URL (sealed when stored)"),
  kind: z.string().max(20).optional().describe("Needed for a new webhook: slack, teams, ..."),
  why,
  rollout: scopeText.optional(),
  base: z.number().int().nonnegative().optional(),
});

/** The scope in a path or body, or a 400 naming it. */
function scopeOf(text: string, where: string): ConfigScope {
  try {
    return parseScope(text);
  } catch (error) {
    throw new HttpError(400, `${where}: ${(error as Error).message}`);
  }
}

/** Runs a change, a stale base answered with 409. */
async function change<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StaleBaseError) throw new HttpError(409, error.message);
    if (error instanceof RangeError) throw new HttpError(404, error.message);
    if (error instanceof WebhookEditError) throw new HttpError(409, error.message);
    throw error;
  }
}

/** The central config routes, to mount at `/api/v1`. */
export function configRoutes(
  deps: { central: CentralConfig; store: Store; fetch?: typeof fetch },
): Hono<CollectorEnv> {
  const { central } = deps;
  const app = new Hono<CollectorEnv>();
  const options = (
    c: { get(key: "actor"): string },
    body: { why: string; rollout?: string; base?: number },
  ): ChangeOptions => ({
    by: c.get("actor"),
    why: body.why,
    ...(body.rollout === undefined ? {} : { rollout: scopeOf(body.rollout, "rollout") }),
    ...(body.base === undefined ? {} : { base: body.base }),
  });

  app.get("/config", async (c) => {
    const versions = await central.versions();
    const head = versions.at(-1)?.version ?? 0;
    const documents = [...(await central.store.documents(head))].map(([scope, doc]) => ({
      scope,
      version: doc.version,
      text: doc.text,
    }));
    return c.json({ head, documents, versions: versions.slice(-20).reverse() });
  });

  app.get("/config/versions", async (c) => {
    const limit = queryInt(c, "limit", { min: 1, max: 1000, fallback: 100 });
    const versions = await central.versions();
    return c.json({ versions: versions.slice(-limit).reverse() });
  });

  app.get("/config/versions/:n", async (c) => {
    const n = Number(c.req.param("n"));
    const version = Number.isInteger(n) ? await central.store.version(n) : null;
    if (version === null) throw new HttpError(404, `No config version ${c.req.param("n")}`);
    return c.json({ version, diff: await central.diffVersions(n - 1, n) });
  });

  app.get("/config/diff", async (c) => {
    const head = await central.store.head();
    const from = queryInt(c, "from", { min: 0, max: head, fallback: Math.max(0, head - 1) });
    const to = queryInt(c, "to", { min: 0, max: head, fallback: head });
    return c.json({ from, to, diff: await central.diffVersions(from, to) });
  });

  app.get("/config/documents/:scope", async (c) => {
    const scope = scopeOf(c.req.param("scope"), "scope");
    const head = await central.store.head();
    const at = queryInt(c, "version", { min: 0, max: head, fallback: head });
    const text = await central.store.document(scope, at);
    if (text === null) {
      throw new HttpError(404, `No central config for ${formatScope(scope)} at version ${at}`);
    }
    return c.json({ scope: formatScope(scope), version: at, text });
  });

  app.put("/config/documents/:scope", async (c) => {
    const scope = scopeOf(c.req.param("scope"), "scope");
    const body = await readBody(c, changeSchema);
    const proposal = await change(() => central.propose(scope, body.text, options(c, body)));
    if (proposal.version === undefined) {
      return c.json({ ok: false, diff: proposal.diff, issues: proposal.issues }, 422);
    }
    return c.json({ ok: true, diff: proposal.diff, version: proposal.version }, 201);
  });

  app.post("/config/check", async (c) => {
    const body = await readBody(c, checkSchema);
    const scope = scopeOf(body.scope, "scope");
    const proposal = await central.propose(scope, body.text, {
      by: c.get("actor"),
      why: "check",
      dryRun: true,
    });
    return c.json({
      ok: proposal.issues.length === 0,
      diff: proposal.diff,
      issues: proposal.issues,
    });
  });

  app.delete("/config/documents/:scope", async (c) => {
    const scope = scopeOf(c.req.param("scope"), "scope");
    const body = await readBody(c, removeSchema);
    const removed = await change(() => central.remove(scope, options(c, body)));
    if (removed === null) throw new HttpError(404, `No central config for ${formatScope(scope)}`);
    if (removed.version === undefined) {
      return c.json({ ok: false, diff: removed.diff, issues: removed.issues }, 422);
    }
    return c.json({ ok: true, diff: removed.diff, version: removed.version }, 201);
  });

  app.post("/config/rollback", async (c) => {
    const body = await readBody(c, rollbackSchema);
    const version = await change(() => central.rollback(body.to, options(c, body)));
    if (version === null) {
      throw new HttpError(409, `Version ${body.to}'s documents are the current ones already`);
    }
    return c.json({ version }, 201);
  });

  app.post("/config/versions/:n/rollout", async (c) => {
    const n = Number(c.req.param("n"));
    const body = await readBody(c, rolloutSchema);
    const to = scopeOf(body.to, "to");
    const version = Number.isInteger(n) ? await central.promote(n, to) : null;
    if (version === null) throw new HttpError(404, `No config version ${c.req.param("n")}`);
    return c.json({ version });
  });

  app.get("/config/webhooks", async (c) => {
    return c.json({ webhooks: await central.webhooks() });
  });

  app.put("/config/webhooks/:scope/:name", async (c) => {
    const scope = scopeOf(c.req.param("scope"), "scope");
    const body = await readBody(c, webhookSchema);
    const proposal = await change(() =>
      central.setWebhook(
        scope,
        c.req.param("name"),
        { url: body.url, ...(body.kind === undefined ? {} : { kind: body.kind }) },
        options(c, body),
      )
    );
    if (proposal.version === undefined) {
      return c.json({ ok: false, diff: proposal.diff, issues: proposal.issues }, 422);
    }
    return c.json({ ok: true, diff: proposal.diff, version: proposal.version }, 201);
  });

  app.post("/config/webhooks/:scope/:name/test", async (c) => {
    const scope = scopeOf(c.req.param("scope"), "scope");
    const result = await change(() =>
      central.pingWebhook(scope, c.req.param("name"), { by: c.get("actor"), fetch: deps.fetch })
    );
    return c.json(result, result.ok ? 200 : 502);
  });

  app.get("/config/agents", async (c) => {
    const [agents, applied, versions] = await Promise.all([
      deps.store.listAgents(),
      central.store.allApplied(),
      central.versions(),
    ]);
    const head = versions.at(-1)?.version ?? 0;
    const rows = await Promise.all(agents.map(async (agent) => {
      const state = applied.get(`${agent.site}/${agent.host}`);
      const desired = await central.desiredVersion(agent);
      return {
        site: agent.site,
        host: agent.host,
        environment: agent.environment ?? null,
        desired,
        running: state?.version ?? null,
        refused: state?.refused ?? null,
        reportedAt: state?.at ?? null,
        current: desired === null || desired === (state?.version ?? null),
      };
    }));
    return c.json({ head, agents: rows });
  });

  return app;
}

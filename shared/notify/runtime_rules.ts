/**
 * Silences and routes added at run time (through an API, not the config
 * file), kept in KV under one prefix so that they survive a restart:
 * `[...prefix, "silence", id]` (expiring with the silence) and
 * `[...prefix, "route", id]`. The policy reads them on each decision.
 *
 * @module
 */

import type { KvHandle } from "../kv/handle.ts";
import { z } from "zod";
import { type ResolvedRoute, resolveNotifyPolicy, routeSchema } from "./policy_schema.ts";
import type { Silence } from "./silences.ts";

/** A route added at run time, with who added it. */
export interface RuntimeRoute {
  id: string;
  route: ResolvedRoute;
  createdAt: string;
  createdBy: string;
  comment?: string;
}

/** The runtime silences and routes of one program. */
export class RuntimeRules {
  #kv: KvHandle;
  #prefix: Deno.KvKey;
  #now: () => number;
  #silences: Silence[] = [];
  #routes: RuntimeRoute[] = [];

  constructor(kv: KvHandle, options: { prefix: Deno.KvKey; now: () => number }) {
    this.#kv = kv;
    this.#prefix = options.prefix;
    this.#now = options.now;
  }

  /** Reads what an earlier run left. */
  async load(): Promise<void> {
    this.#silences = [];
    for await (
      const { value } of this.#kv.list<Silence>({ prefix: [...this.#prefix, "silence"] })
    ) {
      this.#silences.push(value);
    }
    this.#routes = [];
    for await (
      const { value } of this.#kv.list<RuntimeRoute>({ prefix: [...this.#prefix, "route"] })
    ) this.#routes.push(value);
  }

  /** Runtime silences in force now. */
  silences(): Silence[] {
    const now = this.#now();
    return this.#silences.filter((s) => Date.parse(s.until) > now);
  }

  /** Adds (or replaces, by id) a silence; it is dropped from KV once it expires. */
  async addSilence(silence: Silence): Promise<Silence> {
    await this.#kv.set([...this.#prefix, "silence", silence.id], silence, {
      expireIn: Math.max(1000, Date.parse(silence.until) - this.#now()),
    });
    this.#silences = [...this.#silences.filter((s) => s.id !== silence.id), silence];
    return silence;
  }

  /** Removes a silence; false when there was none with that id. */
  async removeSilence(id: string): Promise<boolean> {
    const existed = this.#silences.some((s) => s.id === id);
    await this.#kv.delete([...this.#prefix, "silence", id]);
    this.#silences = this.#silences.filter((s) => s.id !== id);
    return existed;
  }

  /** Runtime routes, oldest first. */
  routes(): RuntimeRoute[] {
    return [...this.#routes];
  }

  /** The resolved runtime routes, for the policy. */
  resolvedRoutes(): ResolvedRoute[] {
    return this.#routes.map((r) => r.route);
  }

  /** Adds a route. */
  async addRoute(route: RuntimeRoute): Promise<RuntimeRoute> {
    await this.#kv.set([...this.#prefix, "route", route.id], route);
    this.#routes = [...this.#routes.filter((r) => r.id !== route.id), route];
    return route;
  }

  /** Removes a route; false when there was none with that id. */
  async removeRoute(id: string): Promise<boolean> {
    const existed = this.#routes.some((r) => r.id === id);
    await this.#kv.delete([...this.#prefix, "route", id]);
    this.#routes = this.#routes.filter((r) => r.id !== id);
    return existed;
  }
}

/** `POST /api/v1/routes`: a route as `[[notify.routes]]` writes it, and a comment. */
export const routeRequestSchema = z.strictObject({
  route: routeSchema,
  comment: z.string().max(500).optional(),
});

/**
 * `{ route: { webhooks, severity?, match?, timezone?, hours?, continue? }, comment? }`
 * (a route as `[[notify.routes]]` writes it) → a {@linkcode RuntimeRoute}.
 *
 * @throws {TypeError} naming each bad field (`route.webhooks: ...`) and unknown webhooks.
 */
export function parseRouteRequest(
  body: unknown,
  options: { webhooks: readonly string[]; createdBy: string; now: number },
): RuntimeRoute {
  const result = routeRequestSchema.safeParse(body);
  if (!result.success) {
    throw new TypeError(
      result.error.issues.map((issue) =>
        `${issue.path.map(String).join(".") || "body"}: ${issue.message}`
      )
        .join("; "),
    );
  }
  if (result.data.route.calendar !== undefined) {
    throw new TypeError(
      `route.calendar: expected hours and timezone on a route added through the API (calendars ` +
        `are named in the config file), got ${JSON.stringify(result.data.route.calendar)}`,
    );
  }
  const unknown = result.data.route.webhooks.filter((name) => !options.webhooks.includes(name));
  if (unknown.length > 0) {
    throw new TypeError(
      `route.webhooks: unknown webhook ${JSON.stringify(unknown[0])}; expected one of ${
        options.webhooks.length === 0 ? "(none configured)" : options.webhooks.join(", ")
      }`,
    );
  }
  return {
    id: `r-${crypto.randomUUID().slice(0, 8)}`,
    route: resolveNotifyPolicy({ routes: [result.data.route] }).routes[0],
    createdAt: new Date(options.now).toISOString(),
    createdBy: options.createdBy,
    ...(result.data.comment ? { comment: result.data.comment } : {}),
  };
}

/**
 * Central config in the collector's store (Deno KV or PostgreSQL, through the
 * same handle). Every change is a new version numbered from 1, kept for good:
 *
 * - `["central", "head"]` → the latest version number;
 * - `["central", "version", n]` → {@linkcode ConfigVersion} (who, when, why, what);
 * - `["central", "doc", scope, n]` → the text (secrets sealed) of a document as of
 *   version n, or null where version n deleted it;
 * - `["central", "applied", site, host]` → what an agent last said it runs;
 * - `["central", "rollout"]` → rewritten with every rollout change (caches look at it).
 *
 * A version writes only the documents it changes; the text of a scope at a
 * version is its last write at or before it.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { type ConfigScope, formatScope, parseScope } from "./scopes.ts";

/** One version of the fleet's central config. */
export interface ConfigVersion {
  version: number;
  /** ISO time of the change. */
  at: string;
  /** Who made it (user or API token). */
  by: string;
  /** Why, in their words. */
  why: string;
  /** `edit` writes one document, `delete` removes one, `rollback` restores an earlier version. */
  action: "edit" | "delete" | "rollback";
  /** The documents it changed (`fleet`, `site:FC1`, `agent:FC1/ws-01`). */
  changed: string[];
  /** With `rollback`: the version restored. */
  rollbackTo?: number;
  /** Who runs it: one agent, a site, or the fleet; widened by promoting. */
  rollout: string;
}

/** What an agent last reported about its central config. */
export interface AppliedState {
  /** The version it runs; null: none (its local file alone). */
  version: number | null;
  /** The last version it refused, and why, when that is newer than the one it runs. */
  refused?: { version: number; message: string };
  /** ISO time of the report that changed this. */
  at: string;
}

/** The versions' documents and the agents' reports, on the store's KV handle. */
export class CentralStore {
  #kv: KvHandle;

  constructor(kv: KvHandle) {
    this.#kv = kv;
  }

  /** The latest version number, 0 before the first. */
  async head(): Promise<number> {
    return (await this.#kv.get<number>(["central", "head"])).value ?? 0;
  }

  /** Changes whenever a version is added or its rollout changes (for caches). */
  async stamp(): Promise<string> {
    const [head, rollout] = await this.#kv.getMany([["central", "head"], ["central", "rollout"]]);
    return `${head.versionstamp}/${rollout.versionstamp}`;
  }

  /** Every version, oldest first. */
  async versions(): Promise<ConfigVersion[]> {
    const out: ConfigVersion[] = [];
    for await (const entry of this.#kv.list<ConfigVersion>({ prefix: ["central", "version"] })) {
      out.push(entry.value);
    }
    return out;
  }

  /** One version, or null. */
  async version(n: number): Promise<ConfigVersion | null> {
    return (await this.#kv.get<ConfigVersion>(["central", "version", n])).value;
  }

  /** The text of `scope` as of version `at` (sealed), null when it has none then. */
  async document(scope: ConfigScope, at: number): Promise<string | null> {
    const iter = this.#kv.list<{ text: string | null }>({
      start: ["central", "doc", formatScope(scope), 0],
      end: ["central", "doc", formatScope(scope), at + 1],
    }, { reverse: true, limit: 1 });
    for await (const entry of iter) return entry.value.text;
    return null;
  }

  /** Every document that exists as of version `at`, by scope. */
  async documents(at: number): Promise<Map<string, { text: string; version: number }>> {
    const found = new Map<string, { text: string | null; version: number }>();
    for await (
      const entry of this.#kv.list<{ text: string | null }>({ prefix: ["central", "doc"] })
    ) {
      const [, , scope, version] = entry.key as [string, string, string, number];
      if (version > at) continue;
      const seen = found.get(scope);
      if (seen === undefined || seen.version < version) {
        found.set(scope, { text: entry.value.text, version });
      }
    }
    const out = new Map<string, { text: string; version: number }>();
    for (const [scope, doc] of [...found].sort(([a], [b]) => scopeOrder(a) - scopeOrder(b))) {
      if (doc.text !== null) out.set(scope, { text: doc.text, version: doc.version });
    }
    return out;
  }

  /**
   * Writes version `head + 1` with the documents in `docs` (null deletes one);
   * null when another change took that number first (the caller tries again).
   */
  async append(
    record: Omit<ConfigVersion, "version" | "changed">,
    docs: ReadonlyMap<string, string | null>,
    expectedHead: number,
  ): Promise<ConfigVersion | null> {
    const head = await this.#kv.get<number>(["central", "head"]);
    if ((head.value ?? 0) !== expectedHead) return null;
    const version: ConfigVersion = {
      version: expectedHead + 1,
      ...record,
      changed: [...docs.keys()],
    };
    let atomic = this.#kv.atomic()
      .check(head)
      .set(["central", "head"], version.version)
      .set(["central", "version", version.version], version);
    for (const [scope, text] of docs) {
      atomic = atomic.set(["central", "doc", scope, version.version], { text });
    }
    return (await atomic.commit()).ok ? version : null;
  }

  /** Changes the rollout of version `n`; the record after, null when there is none. */
  async setRollout(n: number, rollout: string): Promise<ConfigVersion | null> {
    const entry = await this.#kv.get<ConfigVersion>(["central", "version", n]);
    if (entry.value === null) return null;
    const record = { ...entry.value, rollout };
    const done = await this.#kv.atomic().check(entry).set(entry.key, record)
      .set(["central", "rollout"], n).commit();
    return done.ok ? record : this.setRollout(n, rollout);
  }

  /** What agent `site/host` last reported. */
  async applied(site: string, host: string): Promise<AppliedState | null> {
    return (await this.#kv.get<AppliedState>(["central", "applied", site, host])).value;
  }

  /** Every agent's last report, by `site/host`. */
  async allApplied(): Promise<Map<string, AppliedState>> {
    const out = new Map<string, AppliedState>();
    for await (const entry of this.#kv.list<AppliedState>({ prefix: ["central", "applied"] })) {
      const [, , site, host] = entry.key as string[];
      out.set(`${site}/${host}`, entry.value);
    }
    return out;
  }

  /** Records what agent `site/host` reported. */
  async setApplied(site: string, host: string, state: AppliedState): Promise<void> {
    await this.#kv.set(["central", "applied", site, host], state);
  }
}

/** Fleet, then environments, sites, agents: the order documents merge in. */
function scopeOrder(scope: string): number {
  return { fleet: 0, env: 1, site: 2, agent: 3 }[parseScope(scope).kind];
}

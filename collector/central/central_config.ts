/**
 * The fleet's central config: documents for the fleet, a site or one agent,
 * merged in that order on top of each agent's local file. A change is
 * checked with the agent's own schema against every stack of documents it
 * joins, gets a new version (who, when, why), and reaches the agents its
 * rollout names through their ingest answers; each agent reports the version
 * it runs or why it refused one.
 *
 * Secret values are sealed (`enc:v1:`) under the collector's key in every
 * stored text and unsealed only for the agent that gets them.
 *
 * Longer than 500 lines because a change's checks (size, pinned tables,
 * sealing, every stack of documents it joins) and the version cache they and
 * the rollouts share live in one class; the store, scopes and webhook text
 * edits are already apart.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { ConfigError, type ConfigIssue } from "../../shared/config/config_error.ts";
import { parseToml } from "../../shared/config/parse_toml.ts";
import { scanKeyLines } from "../../shared/config/toml_lines.ts";
import { sealSecrets, unsealText } from "../../shared/config/seal_text.ts";
import {
  type CentralConfigState,
  type ConfigLayerWire,
  MAX_CONFIG_DOCUMENT_BYTES,
} from "../../shared/protocol.ts";
import { unifiedDiff } from "../../shared/text_diff.ts";
import { pinnedKeysIn } from "../../shared/agent_config/mod.ts";
import type { Clock } from "../clock.ts";
import {
  type AgentRef,
  type ConfigScope,
  formatScope,
  parseScope,
  reaches,
  scopesOf,
} from "./scopes.ts";
import { type AppliedState, CentralStore, type ConfigVersion } from "./store.ts";
import {
  pingWebhook,
  setWebhook,
  WebhookEditError,
  webhooksOf,
  type WebhookSummary,
} from "./webhook_edit.ts";

const log = getLogger(["scriptmon", "collector", "central"]);

/** The largest document accepted (bytes of its text). */
export const MAX_DOCUMENT_BYTES = MAX_CONFIG_DOCUMENT_BYTES;
/** The largest document kept once its secrets are sealed (a KV value holds at most 64 KiB). */
const SEALED_MAX_BYTES = 64_000;
/** How long another collector's change may take to be seen here (replicas). */
const REFRESH_MS = 2000;

/** A document to check: what errors call it, and its text (secrets in plain). */
export interface CheckLayer {
  name: string;
  text: string;
}

/** What {@linkcode CentralConfig} needs. */
export interface CentralConfigDeps {
  store: CentralStore;
  /** The key secrets are sealed under. */
  key: Uint8Array;
  clock: Clock;
  /** The agent's config check of documents merged in order (`checkConfigLayers`). */
  check: (layers: readonly CheckLayer[]) => ConfigIssue[];
  /** A site's environment (its document goes under the site's); default none. */
  environmentOf?: (site: string) => Promise<string | null>;
}

/** A proposed change, checked. */
export interface Proposal {
  /** The unified diff against the current text ("" when nothing changes). */
  diff: string;
  /** Every problem, with the document and line; empty when it may be saved. */
  issues: ConfigIssue[];
  /** The version made, when it was saved. */
  version?: ConfigVersion;
}

/** Who asks for a change and why. */
export interface ChangeOptions {
  by: string;
  why: string;
  /** Who gets it (`fleet`, `site:FC1`, `agent:FC1/ws-01`); default the fleet. */
  rollout?: ConfigScope;
  /** Only check it and show the diff. */
  dryRun?: boolean;
  /** The version the change was made against: refused when another came since. */
  base?: number;
}

/** A change made against a version that is no longer the latest. */
export class StaleBaseError extends Error {
  override name = "StaleBaseError";
}

/** The fleet's central config. */
export class CentralConfig {
  #deps: CentralConfigDeps;
  #versions: ConfigVersion[] = [];
  #stamp = "";
  #checkedAt = -Infinity;
  #refreshing: Promise<void> | null = null;
  /** Bumped by every change made here (a read under way when it happened is read again). */
  #generation = 0;
  /** Sealed texts by `scope@version`: the same few are handed to many agents. */
  #texts = new Map<string, string | null>();
  /** What each agent last reported, as this collector knows it. */
  #applied = new Map<string, AppliedState>();

  constructor(deps: CentralConfigDeps) {
    this.#deps = deps;
  }

  /** The store, for listings. */
  get store(): CentralStore {
    return this.#deps.store;
  }

  /** Every version, oldest first (another collector's changes within 2 s). */
  async versions(): Promise<readonly ConfigVersion[]> {
    await this.#refresh();
    return this.#versions;
  }

  /** The version `agent` should run: the newest whose rollout reaches it. */
  async desiredVersion(agent: AgentRef): Promise<number | null> {
    const versions = await this.versions();
    for (let i = versions.length - 1; i >= 0; i--) {
      if (reaches(parseScope(versions[i].rollout), agent)) return versions[i].version;
    }
    return null;
  }

  /** The documents of version `version` for `agent`, secrets in plain, in merge order. */
  async layersFor(agent: AgentRef, version: number): Promise<ConfigLayerWire[]> {
    const layers: ConfigLayerWire[] = [];
    for (const scope of scopesOf(agent)) {
      const text = await this.#text(scope, version);
      if (text === null) continue;
      layers.push({
        name: `central config v${version} (${formatScope(scope)})`,
        text: unsealText(text, this.#deps.key),
      });
    }
    return layers;
  }

  /** The current text of `scope` (sealed) and the version that wrote it, or null. */
  async current(scope: ConfigScope): Promise<{ text: string; head: number } | null> {
    const head = await this.#deps.store.head();
    const text = await this.#deps.store.document(scope, head);
    return text === null ? null : { text, head };
  }

  /**
   * Checks `text` as the new document of `scope` and, unless it has problems
   * or `dryRun`, saves it as a new version.
   *
   * @throws {StaleBaseError} when `base` is not the latest version.
   */
  async propose(scope: ConfigScope, text: string, options: ChangeOptions): Promise<Proposal> {
    const name = formatScope(scope);
    const size = new TextEncoder().encode(text).length;
    if (size > MAX_DOCUMENT_BYTES) {
      return refused(
        name,
        `the document is ${size} bytes; at most ${MAX_DOCUMENT_BYTES} are accepted`,
      );
    }
    const head = await this.#deps.store.head();
    this.#checkBase(options.base, head);
    const previous = await this.#deps.store.document(scope, head);
    let sealed: string;
    try {
      const issues = pinnedIssues(text, name);
      if (issues.length > 0) return { diff: "", issues };
      sealed = sealSecrets(text, this.#deps.key, { file: name, previous: previous ?? "" });
    } catch (error) {
      if (error instanceof ConfigError) {
        return { diff: "", issues: error.issues.map((i) => ({ ...i, file: name })) };
      }
      if (error instanceof SyntaxError) {
        return refused(name, error.message);
      }
      throw error;
    }
    const sealedSize = new TextEncoder().encode(sealed).length;
    if (sealedSize > SEALED_MAX_BYTES) {
      // Deno KV keeps values up to 64 KiB.
      return refused(
        name,
        `the document is ${sealedSize} bytes with its secrets sealed; at most ` +
          `${SEALED_MAX_BYTES} are kept: split it (a site's or an agent's part apart)`,
      );
    }
    const diff = unifiedDiff(previous ?? "", sealed, {
      from: previous === null ? "(none)" : `${name} v${head}`,
      to: `${name} (proposed)`,
    });
    const issues = await this.#checkStacks(scope, sealed, head);
    if (options.dryRun || issues.length > 0) return { diff, issues };
    if (diff === "") {
      return {
        diff,
        issues: [{ path: "", file: name, message: "nothing changed: the text is the current one" }],
      };
    }
    const version = await this.#append(options, new Map([[name, sealed]]), "edit", head);
    return { diff, issues, version };
  }

  /** Removes the document of `scope` as a new version; null when it has none. */
  async remove(scope: ConfigScope, options: ChangeOptions): Promise<Proposal | null> {
    const head = await this.#deps.store.head();
    this.#checkBase(options.base, head);
    const previous = await this.#deps.store.document(scope, head);
    if (previous === null) return null;
    const name = formatScope(scope);
    const diff = unifiedDiff(previous, "", { from: `${name} v${head}`, to: `${name} (removed)` });
    // What the narrower documents it leaves behind need (a webhook a site's routes name) counts.
    const issues = await this.#checkStacks(scope, null, head);
    if (issues.length > 0) return { diff, issues };
    const version = await this.#append(options, new Map([[name, null]]), "delete", head);
    return { diff, issues, version };
  }

  /**
   * Makes a new version whose documents are those of version `to`; null when
   * they are already the current ones.
   *
   * @throws {RangeError} when there is no version `to`.
   */
  async rollback(to: number, options: ChangeOptions): Promise<ConfigVersion | null> {
    const head = await this.#deps.store.head();
    this.#checkBase(options.base, head);
    if (to < 1 || to > head) {
      throw new RangeError(`No config version ${to}: the versions are 1 to ${head}`);
    }
    const then = await this.#deps.store.documents(to);
    const now = await this.#deps.store.documents(head);
    const docs = new Map<string, string | null>();
    for (const scope of new Set([...then.keys(), ...now.keys()])) {
      const text = then.get(scope)?.text ?? null;
      if (text !== (now.get(scope)?.text ?? null)) docs.set(scope, text);
    }
    if (docs.size === 0) return null;
    return await this.#append({ ...options }, docs, "rollback", head, to);
  }

  /** Widens (or narrows) who gets version `n`. */
  async promote(n: number, rollout: ConfigScope): Promise<ConfigVersion | null> {
    const record = await this.#deps.store.setRollout(n, formatScope(rollout));
    this.#invalidate();
    return record;
  }

  /** The unified diff between two versions, document by document. */
  async diffVersions(from: number, to: number): Promise<string> {
    const before = await this.#deps.store.documents(from);
    const after = await this.#deps.store.documents(to);
    const parts: string[] = [];
    for (const scope of new Set([...before.keys(), ...after.keys()])) {
      parts.push(unifiedDiff(before.get(scope)?.text ?? "", after.get(scope)?.text ?? "", {
        from: `${scope} v${from}`,
        to: `${scope} v${to}`,
      }));
    }
    return parts.join("");
  }

  /** The webhooks of the current documents, URLs shown only as far as the host. */
  async webhooks(): Promise<WebhookSummary[]> {
    const head = await this.#deps.store.head();
    const docs = await this.#deps.store.documents(head);
    return [...docs].flatMap(([scope, doc]) =>
      webhooksOf(scope, unsealText(doc.text, this.#deps.key))
    );
  }

  /**
   * Sets webhook `name`'s URL (and kind) in the document of `scope` as a new
   * version, checked like any edit.
   *
   * @throws {WebhookEditError} when the document cannot take the change as asked.
   */
  async setWebhook(
    scope: ConfigScope,
    name: string,
    fields: { url: string; kind?: string },
    options: ChangeOptions,
  ): Promise<Proposal> {
    const head = await this.#deps.store.head();
    const current = await this.#deps.store.document(scope, head);
    const text = setWebhook(unsealText(current ?? "", this.#deps.key), name, fields);
    return await this.propose(scope, text, { ...options, base: options.base ?? head });
  }

  /**
   * Sends a test message to webhook `name` of the current document of `scope`.
   *
   * @throws {WebhookEditError} when there is no such document or webhook, or only agents can
   *   read its values.
   */
  async pingWebhook(
    scope: ConfigScope,
    name: string,
    options: { by: string; fetch?: typeof fetch },
  ): Promise<{ ok: boolean; answer: string }> {
    const current = await this.current(scope);
    if (current === null) {
      throw new WebhookEditError(`No central config for ${formatScope(scope)}`);
    }
    return await pingWebhook(current.text, name, {
      key: this.#deps.key,
      scope: formatScope(scope),
      by: options.by,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
  }

  /** Records what agent `site/host` said it runs (stored only when it changed). */
  async noteApplied(site: string, host: string, state: CentralConfigState): Promise<void> {
    const key = `${site}/${host}`;
    let known = this.#applied.get(key);
    if (known === undefined) {
      known = await this.#deps.store.applied(site, host) ?? undefined;
      if (known !== undefined) this.#applied.set(key, known);
    }
    const same = known !== undefined && known.version === state.version &&
      known.refused?.version === state.refused?.version;
    if (same) return;
    const next: AppliedState = {
      version: state.version,
      ...(state.refused === undefined ? {} : { refused: state.refused }),
      at: new Date(this.#deps.clock.now()).toISOString(),
    };
    this.#applied.set(key, next);
    await this.#deps.store.setApplied(site, host, next);
    if (state.refused !== undefined && known?.refused?.version !== state.refused.version) {
      log.warn("Agent {site}/{host} refused config v{version}: {message}", {
        site,
        host,
        version: state.refused.version,
        message: state.refused.message,
      });
    } else if (state.version !== null) {
      log.info("Agent {site}/{host} runs config v{version}", {
        site,
        host,
        version: state.version,
      });
    }
  }

  #checkBase(base: number | undefined, head: number): void {
    if (base !== undefined && base !== head) {
      throw new StaleBaseError(
        `The config changed since version ${base}: the latest is ${head}; look at it and try again`,
      );
    }
  }

  async #append(
    options: ChangeOptions,
    docs: Map<string, string | null>,
    action: ConfigVersion["action"],
    head: number,
    rollbackTo?: number,
  ): Promise<ConfigVersion> {
    const record = {
      at: new Date(this.#deps.clock.now()).toISOString(),
      by: options.by,
      why: options.why,
      action,
      ...(rollbackTo === undefined ? {} : { rollbackTo }),
      rollout: formatScope(options.rollout ?? { kind: "fleet" }),
    };
    const version = await this.#deps.store.append(record, docs, head);
    if (version === null) {
      throw new StaleBaseError(
        "Another change was saved at the same moment: look at the latest version and try again",
      );
    }
    this.#invalidate();
    log.info("Config v{version} by {by}: {action} {changed}, rolled out to {rollout} ({why})", {
      ...version,
      changed: version.changed.join(", "),
    });
    return version;
  }

  /**
   * The problems of `sealed` as the new text of `scope`, checked in every
   * stack of documents it joins: under the wider ones, and over each narrower
   * document it would reach.
   */
  async #checkStacks(
    scope: ConfigScope,
    sealed: string | null,
    head: number,
  ): Promise<ConfigIssue[]> {
    const docs = await this.#deps.store.documents(head);
    const name = formatScope(scope);
    const textOf = (s: string) => s === name ? sealed ?? undefined : docs.get(s)?.text;
    const environmentOf = this.#deps.environmentOf ?? (() => Promise.resolve(null));
    // Every stack from the fleet down to each document that exists or is being written (a
    // removed one: the stacks it was part of, without it).
    const leaves = new Set([...docs.keys(), ...(sealed === null ? [] : [name])]);
    if (sealed === null) leaves.delete(name);
    const stackOf = async (leaf: string): Promise<string[]> => {
      const parsed = parseScope(leaf);
      if (parsed.kind === "fleet") return ["fleet"];
      if (parsed.kind === "env") return ["fleet", leaf];
      const env = await environmentOf(parsed.site);
      const wider = ["fleet", ...(env === null ? [] : [`env:${env}`]), `site:${parsed.site}`];
      return parsed.kind === "site" ? wider : [...wider, leaf];
    };
    const issues: ConfigIssue[] = [];
    const seen = new Set<string>();
    for (const leaf of leaves) {
      const stack = await stackOf(leaf);
      if (!stack.includes(name)) continue; // a removed document: the stacks it was under
      const layers = stack.flatMap((s) => {
        const text = textOf(s);
        return text === undefined ? [] : [{ name: s, text: unsealText(text, this.#deps.key) }];
      });
      for (const issue of this.#deps.check(layers)) {
        const key = `${issue.file}:${issue.line}:${issue.path}:${issue.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        issues.push(issue);
      }
    }
    return issues;
  }

  /** The sealed text of `scope` as of `version`, cached. */
  async #text(scope: ConfigScope, version: number): Promise<string | null> {
    const key = `${formatScope(scope)}@${version}`;
    if (this.#texts.has(key)) return this.#texts.get(key)!;
    const text = await this.#deps.store.document(scope, version);
    if (this.#texts.size >= 1000) this.#texts.clear();
    this.#texts.set(key, text);
    return text;
  }

  /** Re-reads the versions when another collector may have changed them. */
  /**
   * Re-reads the versions when another collector may have changed them (every 2 s), or at once
   * after a change here or when an agent reports a version newer than any known here.
   */
  async #refresh(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      if (this.#deps.clock.now() - this.#checkedAt < REFRESH_MS) return;
      const generation = this.#generation;
      this.#refreshing ??= (async () => {
        try {
          const stamp = await this.#deps.store.stamp();
          if (stamp !== this.#stamp) {
            this.#versions = await this.#deps.store.versions();
            this.#stamp = stamp;
          }
          this.#checkedAt = this.#deps.clock.now();
        } finally {
          this.#refreshing = null;
        }
      })();
      await this.#refreshing;
      // A change made here while that read was under way: read again.
      if (generation === this.#generation) return;
      this.#checkedAt = -Infinity;
    }
  }

  /** Forgets the versions read, so that the next look reads them again. */
  #invalidate(): void {
    this.#generation++;
    this.#checkedAt = -Infinity;
  }

  /** Reads the versions again unless `version` is known here (another collector made it). */
  async knowVersion(version: number): Promise<void> {
    const newest = (await this.versions()).at(-1)?.version ?? 0;
    if (version > newest) {
      this.#invalidate();
      await this.#refresh();
    }
  }
}

/** A problem for each pinned table (`[agent]`, `[collector]`, `[env]`) a document sets. */
function pinnedIssues(text: string, file: string): ConfigIssue[] {
  const tree = parseToml(text, file);
  const lines = scanKeyLines(text);
  return pinnedKeysIn(tree).map((table) => ({
    path: table,
    file,
    line: lines.get(table),
    message: `[${table}] is kept by each agent's own config file: set it there, ` +
      "not in a central document",
  }));
}

/** A proposal refused for one problem of the whole document `name`. */
function refused(name: string, message: string): Proposal {
  return { diff: "", issues: [{ path: "", file: name, message }] };
}

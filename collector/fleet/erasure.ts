/**
 * Erasure on request (a compliance ask): everything the collector's KV
 * keeps about a site, one agent (site + host) or a user is deleted, and the
 * counts per key family are returned so that the CLI can show them first
 * and record them on the audit trail.
 *
 * What goes, per family (the key layouts are in `store.ts` and its modules):
 *
 * - `agent`, `scripts`, `tokens` (the credentials it last reported, never
 *   their values), `trend` (what is usual for its scripts), `event`,
 *   `event_time` (scanned: the time comes first in that key), `transition`,
 *   `presence`, `sample`, `rollup`;
 * - `command`, `command_pending`, `command_flag`;
 * - `alert` (scanned by the record's site and host) and `alert_open` (by the
 *   site and host inside its condition key `<rule>|<site>|<host>|...`);
 * - `lease` (a site's leases; an agent's: those it holds) and `dedupe`
 *   claims (a site's; an agent's: those it made);
 * - `token`, `token_name`: agent tokens of the site (an agent's: the one
 *   bound to its host) are DELETED, not revoked. A revoked record would keep
 *   naming the site and host; a deleted one is unknown, which refuses the
 *   token exactly like a revoked one (401), and frees its name.
 * - a user: `user`, every `session` with its `session_user` index (so
 *   their sessions stop working at once), and their failed sign-ins
 *   (`signin_fail`; those counted per address name no user and stay until
 *   they expire).
 *
 * - `silence`: silences added through the API that name it exactly
 *   (`match.site`, and `match.host` for an agent; a pattern like `BFI*`
 *   stays). The running collector keeps those it loaded until they expire.
 * - `outbox`: the notification history of alerts about it (a grouped
 *   message goes when any alert in it is about it), once delivered or
 *   otherwise finished; a message still on its way is left to its sender.
 *
 * What stays: the audit trail. It is append-only and hash-chained, so an
 * entry cannot be removed without breaking `audit verify`; its entries name
 * only ids (a site, a host, a user name, a token name), never the data
 * itself, and the erasure is itself recorded there (`erase.site`,
 * `erase.agent`, `erase.user`, with these counts). Audit retention purges
 * old entries in its own time. Also left alone: the alert policy's state
 * (`["alerts", "state", n]`), which the running collector holds in memory
 * and rewrites (it is not edited here). Users and API
 * tokens scoped to an erased site keep its name in their list of sites
 * (they are people's access, not the site's data): edit or revoke them.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { eraseMessages } from "../../shared/notify/outbox_erase.ts";
import type { Silence } from "../../shared/notify/silences.ts";
import type { Alert, Payload } from "../../shared/notify/types.ts";
import { retryLocked } from "../store/kv_retry.ts";
import { tokensChanged } from "../store/tokens.ts";
import type { Store } from "../store/store.ts";
import type { AlertRecord } from "../store/alerts.ts";
import type { LeaseRecord } from "./leases.ts";
import type { DedupeClaim } from "./site_dedupe.ts";
import type { TokenRecord } from "../store/types.ts";

/** How many keys of each family an erasure deleted (or would delete). */
export type ErasureCounts = Record<string, number>;

/** Options of every erasure. */
export interface EraseOptions {
  /** Count what would be deleted, delete nothing. */
  dryRun?: boolean;
}

/** Where the collector keeps silences added through the API (`alerts.ts`'s runtime rules). */
const SILENCES: Deno.KvKey = ["alerts", "rules", "silence"];

/** Deletes per atomic commit (KV allows 1000 mutations). */
const BATCH = 500;

/** The families keyed `[family, site, host, ...]` (an agent's) or `[family, site, ...]`. */
const SITE_HOST_FAMILIES = [
  "agent",
  "scripts",
  "tokens",
  "event",
  "transition",
  "presence",
  "sample",
  "rollup",
  "command",
  "command_pending",
  "command_flag",
  "trend",
] as const;

/** Collects keys and deletes them in batches; counts per family. */
class Eraser {
  readonly counts: ErasureCounts = {};
  #kv: KvHandle;
  #dryRun: boolean;
  #pending: Deno.KvKey[] = [];

  /** True when nothing is deleted, only counted. */
  get dryRun(): boolean {
    return this.#dryRun;
  }

  constructor(kv: KvHandle, options: EraseOptions) {
    this.#kv = kv;
    this.#dryRun = options.dryRun ?? false;
  }

  async delete(family: string, key: Deno.KvKey): Promise<void> {
    this.counts[family] = (this.counts[family] ?? 0) + 1;
    if (this.#dryRun) return;
    this.#pending.push(key);
    if (this.#pending.length >= BATCH) await this.flush();
  }

  /** Deletes every key under `prefix`, counted as `family`. */
  async prefix(family: string, prefix: Deno.KvKey): Promise<void> {
    this.counts[family] ??= 0;
    // A prefix selector leaves out the key equal to the prefix (`["agent", site, host]`).
    const exact = await retryLocked(() => this.#kv.get(prefix));
    if (exact.versionstamp !== null) await this.delete(family, prefix);
    for await (const { key } of this.#kv.list({ prefix }, { batchSize: 1000 })) {
      await this.delete(family, key);
    }
  }

  /** Deletes every entry under `prefix` that `match` accepts, counted as `family`. */
  async scan<T>(
    family: string,
    prefix: Deno.KvKey,
    match: (key: Deno.KvKey, value: T) => boolean,
  ): Promise<void> {
    this.counts[family] ??= 0;
    for await (const { key, value } of this.#kv.list<T>({ prefix }, { batchSize: 1000 })) {
      if (match(key, value)) await this.delete(family, key);
    }
  }

  async flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const keys = this.#pending.splice(0, BATCH);
      const op = this.#kv.atomic();
      for (const key of keys) op.delete(key);
      await retryLocked(() => op.commit());
    }
  }
}

/** The `[site, host]` inside an alert condition key `<rule>|<site>|<host>|...`. */
function conditionAgent(conditionKey: unknown): [string, string] | null {
  if (typeof conditionKey !== "string") return null;
  const parts = conditionKey.split("|");
  return parts.length >= 3 ? [parts[1], parts[2]] : null;
}

/** Whether `payload` is an alert about `site` (and `host`), itself or one grouped into it. */
function alertAbout(payload: Payload, site: string, host?: string): boolean {
  if (payload.type !== "alert") return false;
  const about = (a: Alert) => a.site === site && (host === undefined || a.host === host);
  return about(payload.alert) || (payload.alert.group ?? []).some(about);
}

/** Deletes the agent tokens `match` accepts, with their name index entries. */
async function eraseTokens(
  kv: KvHandle,
  eraser: Eraser,
  match: (record: TokenRecord) => boolean,
): Promise<void> {
  const names: TokenRecord[] = [];
  await eraser.scan<TokenRecord>("token", ["token", "agent"], (_key, record) => {
    const hit = match(record);
    if (hit) names.push(record);
    return hit;
  });
  eraser.counts.token_name ??= 0;
  for (const record of names) {
    const nameKey = ["token_name", "agent", record.name];
    const held = await retryLocked(() => kv.get<string>(nameKey));
    if (held.value === record.hash) await eraser.delete("token_name", nameKey);
  }
  // Collectors drop the erased tokens from their caches within a second.
  if (names.length > 0 && !eraser.dryRun) await tokensChanged(kv);
}

/** Everything the collector keeps about `site`: its agents' data, alerts, leases, claims, agent tokens. */
export async function eraseSite(
  store: Store,
  site: string,
  options: EraseOptions = {},
): Promise<ErasureCounts> {
  const kv = store.kv;
  const eraser = new Eraser(kv, options);
  for (const family of SITE_HOST_FAMILIES) await eraser.prefix(family, [family, site]);
  await eraser.scan("event_time", ["event_time"], (key) => key[2] === site);
  await eraser.scan<AlertRecord>("alert", ["alert"], (_key, alert) => alert.site === site);
  await eraser.scan("alert_open", ["alert_open"], (key) => conditionAgent(key[1])?.[0] === site);
  await eraser.prefix("lease", ["lease", site]);
  await eraser.prefix("dedupe", ["dedupe", site]);
  await eraser.scan<Silence>("silence", SILENCES, (_key, silence) => silence.match?.site === site);
  await eraseTokens(kv, eraser, (record) => record.site === site);
  await eraser.flush();
  eraser.counts.outbox = await eraseMessages(kv, (p) => alertAbout(p, site), options);
  return eraser.counts;
}

/** Everything the collector keeps about the agent `host` of `site`. */
export async function eraseAgent(
  store: Store,
  site: string,
  host: string,
  options: EraseOptions = {},
): Promise<ErasureCounts> {
  const kv = store.kv;
  const eraser = new Eraser(kv, options);
  for (const family of SITE_HOST_FAMILIES) await eraser.prefix(family, [family, site, host]);
  await eraser.scan("event_time", ["event_time"], (key) => key[2] === site && key[3] === host);
  await eraser.scan<AlertRecord>(
    "alert",
    ["alert"],
    (_key, alert) => alert.site === site && alert.host === host,
  );
  await eraser.scan("alert_open", ["alert_open"], (key) => {
    const agent = conditionAgent(key[1]);
    return agent !== null && agent[0] === site && agent[1] === host;
  });
  const holder = `${site}/${host}`;
  await eraser.scan<LeaseRecord>(
    "lease",
    ["lease", site],
    (_key, lease) => lease.holder === holder,
  );
  await eraser.scan<DedupeClaim>("dedupe", ["dedupe", site], (_key, claim) => claim.by === holder);
  await eraser.scan<Silence>(
    "silence",
    SILENCES,
    (_key, silence) => silence.match?.site === site && silence.match.host === host,
  );
  await eraseTokens(kv, eraser, (record) => record.site === site && record.host === host);
  await eraser.flush();
  eraser.counts.outbox = await eraseMessages(kv, (p) => alertAbout(p, site, host), options);
  return eraser.counts;
}

/** A user, every session of theirs (which stop working at once) and their failed sign-ins. */
export async function eraseUser(
  kv: KvHandle,
  name: string,
  options: EraseOptions = {},
): Promise<ErasureCounts> {
  const eraser = new Eraser(kv, options);
  eraser.counts.user = 0;
  const user = await retryLocked(() => kv.get(["user", name]));
  if (user.versionstamp !== null) await eraser.delete("user", ["user", name]);
  eraser.counts.session = 0;
  eraser.counts.session_user = 0;
  const index: Deno.KvKey[] = [];
  for await (const { key } of kv.list({ prefix: ["session_user", name] })) index.push(key);
  for (const key of index) {
    const session = ["session", key[2]];
    if ((await retryLocked(() => kv.get(session))).versionstamp !== null) {
      await eraser.delete("session", session);
    }
    await eraser.delete("session_user", key);
  }
  eraser.counts.signin_fail = 0;
  const failures = ["signin_fail", "user", name];
  if ((await retryLocked(() => kv.get(failures))).versionstamp !== null) {
    await eraser.delete("signin_fail", failures);
  }
  await eraser.flush();
  return eraser.counts;
}

/** The total of `counts`. */
export function totalErased(counts: ErasureCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** `family=count` pairs of the non-zero counts, for people and the audit detail. */
export function describeCounts(counts: ErasureCounts): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([f, n]) => `${f}=${n}`);
  return parts.length === 0 ? "nothing" : parts.join(" ");
}

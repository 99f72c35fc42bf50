/**
 * Alert records, as `GET /api/v1/alerts` shows them. Keys:
 * `["alert", id]` → {@linkcode AlertRecord}; `["alert_open", key]` → the id
 * of the key's firing record. Resolved records older than the collector's
 * `retention` are purged ({@linkcode AlertStore.purge}); a firing one is kept
 * however old.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import type { Severity } from "../../shared/notify/types.ts";
import { retryLocked } from "./kv_retry.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** Records deleted per atomic commit by {@linkcode AlertStore.purge}. */
const PURGE_BATCH = 100; // a Deno KV commit takes at most 100 checks

/** One alert's life, as `GET /api/v1/alerts` shows it. Times are ISO strings. */
export interface AlertRecord {
  id: string;
  rule: string;
  /** The condition's key, `<rule>|<site>|<host>|<script>|<check>`. */
  key: string;
  severity: Severity;
  site: string;
  host: string;
  script: string | null;
  check: string | null;
  title: string;
  firedAt: string;
  /** Null while it fires. */
  resolvedAt: string | null;
  /** `api-token:<name>` of who acknowledged it, or null. */
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
}

/** What {@linkcode AlertStore.open} records. */
export type NewAlert = Omit<
  AlertRecord,
  "id" | "resolvedAt" | "acknowledgedBy" | "acknowledgedAt"
>;

/** Every alert's life: fired, resolved, acknowledged. */
export class AlertStore {
  #kv: KvHandle;
  #newId: (now: number) => string;

  /** `newId` makes ids that sort by time. */
  constructor(kv: KvHandle, newId: (now: number) => string) {
    this.#kv = kv;
    this.#newId = newId;
  }

  /** Records `alert` as firing; when its key is firing already, returns that record unchanged. */
  async open(alert: NewAlert): Promise<AlertRecord> {
    const openKey = ["alert_open", alert.key];
    for (;;) {
      const open = await retryLocked(() => this.#kv.get<string>(openKey));
      if (open.value !== null) {
        const found = await retryLocked(() => this.#kv.get<AlertRecord>(["alert", open.value!]));
        if (found.value !== null) return found.value;
      }
      const record: AlertRecord = {
        id: this.#newId(Date.parse(alert.firedAt)),
        ...alert,
        resolvedAt: null,
        acknowledgedBy: null,
        acknowledgedAt: null,
      };
      const result = await retryLocked(() =>
        this.#kv.atomic().check(open).set(openKey, record.id).set(["alert", record.id], record)
          .commit()
      );
      if (result.ok) return record;
    }
  }

  /** Marks the firing record of `key` resolved at `resolvedAt` (ISO); null when none fires. */
  async resolve(key: string, resolvedAt: string): Promise<AlertRecord | null> {
    const openKey = ["alert_open", key];
    for (;;) {
      const open = await retryLocked(() => this.#kv.get<string>(openKey));
      if (open.value === null) return null;
      const entry = await retryLocked(() => this.#kv.get<AlertRecord>(["alert", open.value!]));
      const op = this.#kv.atomic().check(open).check(entry).delete(openKey);
      const record = entry.value === null ? null : { ...entry.value, resolvedAt };
      if (record !== null) op.set(entry.key, record);
      if ((await retryLocked(() => op.commit())).ok) return record;
    }
  }

  /** Alert records, newest first, filtered by state (firing: not resolved) and site. */
  async list(
    options: { state?: "firing" | "resolved"; site?: string } = {},
  ): Promise<AlertRecord[]> {
    const out: AlertRecord[] = [];
    const list = this.#kv.list<AlertRecord>({ prefix: ["alert"] }, {
      reverse: true,
      batchSize: 500,
    });
    for await (const { value } of list) {
      if (options.site !== undefined && value.site !== options.site) continue;
      if (options.state === "firing" && value.resolvedAt !== null) continue;
      if (options.state === "resolved" && value.resolvedAt === null) continue;
      out.push(value);
    }
    return out;
  }

  /** The records that fired in `[since, until)` (ms), by id (about firing time), read lazily. */
  async *fired(window: { since: number; until: number }): AsyncGenerator<AlertRecord> {
    const list = this.#kv.list<AlertRecord>({ prefix: ["alert"] }, { batchSize: 500 });
    for await (const { value } of list) {
      const at = Date.parse(value.firedAt);
      if (at >= window.since && at < window.until) yield value;
    }
  }

  /**
   * Deletes the records resolved before `beforeMs`, oldest first, in batches of `PURGE_BATCH`;
   * returns how many. Ids sort by firing time, so the scan stops at the first alert fired at or
   * after `beforeMs`: nothing after it can have been resolved before then.
   */
  async purge(beforeMs: number): Promise<number> {
    let purged = 0;
    let batch: Deno.KvEntry<AlertRecord>[] = [];
    const flush = async () => {
      let op = this.#kv.atomic();
      // A record acknowledged meanwhile is left for the next pass.
      for (const entry of batch) op = op.check(entry).delete(entry.key);
      if ((await retryLocked(() => op.commit())).ok) purged += batch.length;
      batch = [];
    };
    for await (
      const entry of this.#kv.list<AlertRecord>({ prefix: ["alert"] }, { batchSize: 500 })
    ) {
      const { firedAt, resolvedAt } = entry.value;
      if (Date.parse(firedAt) >= beforeMs) break;
      if (resolvedAt === null || Date.parse(resolvedAt) >= beforeMs) continue;
      batch.push(entry);
      if (batch.length === PURGE_BATCH) await flush();
    }
    if (batch.length > 0) await flush();
    return purged;
  }

  /** Alert `id`, or null when there is none. */
  async get(id: string): Promise<AlertRecord | null> {
    return (await retryLocked(() => this.#kv.get<AlertRecord>(["alert", id]))).value;
  }

  /** Records who acknowledged alert `id`; null when there is no such alert. */
  async ack(id: string, options: { by: string; now: number }): Promise<AlertRecord | null> {
    for (;;) {
      const entry = await retryLocked(() => this.#kv.get<AlertRecord>(["alert", id]));
      if (entry.value === null) return null;
      const record: AlertRecord = {
        ...entry.value,
        acknowledgedBy: options.by,
        acknowledgedAt: iso(options.now),
      };
      const result = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(entry.key, record).commit()
      );
      if (result.ok) return record;
    }
  }
}

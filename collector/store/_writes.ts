/**
 * How one ingest becomes KV writes: events (by seq and by time) and the
 * script list in chunks that fit KV values.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { IngestRequest, ScriptSummary, TokenSummary } from "../../shared/protocol.ts";
import type { WriteGroup } from "./_atomic_batches.ts";
import type { SampleRow, Transition } from "./history.ts";
import type { AgentRecord, StoredEvent } from "./types.ts";

/** Largest JSON text of one event or script chunk kept in one KV value (limit 64 KiB). */
export const MAX_VALUE_CHARS = 30_000;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Event data nested deeper than this is not kept: Deno KV writes some
 * 3,000 levels of objects but cannot read them back ("could not
 * deserialize value"), which would break every listing that meets it.
 */
export const MAX_DATA_DEPTH = 64;

/** Whether `value` nests objects or arrays more than `max` levels deep (no recursion). */
export function nestsDeeper(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * An event as stored; data larger than one KV value, or nested deeper than
 * {@linkcode MAX_DATA_DEPTH}, is replaced by its size.
 */
export function toStored(
  site: string,
  host: string,
  event: IngestRequest["events"][number],
  now: number,
): StoredEvent {
  const stored: StoredEvent = {
    site,
    host,
    seq: event.seq,
    at: new Date(Date.parse(event.at)).toISOString(),
    kind: event.kind,
    ...(event.script === undefined ? {} : { script: event.script }),
    data: event.data,
    receivedAt: iso(now),
  };
  const size = JSON.stringify(event.data).length;
  return size > MAX_VALUE_CHARS || nestsDeeper(event.data, MAX_DATA_DEPTH)
    ? { ...stored, data: { truncated: true, size } }
    : stored;
}

/** An event's writes: by seq (checked absent), by time, and a script's state change. */
export function eventGroup(event: StoredEvent): WriteGroup {
  const key = ["event", event.site, event.host, event.seq];
  const at = Date.parse(event.at);
  const sets: WriteGroup["sets"] = [
    [key, event],
    [["event_time", at, event.site, event.host, event.seq], event],
  ];
  const state = event.data.state;
  if (event.kind === "state" && event.script !== undefined && typeof state === "string") {
    const from = typeof event.data.from === "string" ? event.data.from : null;
    const retry = state === "crash-looping" && from === "crash-looping" &&
      typeof event.data.pid === "number";
    const transition: Transition = { at, state, from, ...(retry ? { retry: true } : {}) };
    sets.push([["transition", event.site, event.host, event.script, at, event.seq], transition]);
  }
  return {
    checks: [{ key, versionstamp: null }],
    sets,
    deletes: [],
    bytes: 2 * (JSON.stringify(event).length + 200) + 200,
  };
}

/** One resource sample of every script of a heartbeat, cut to fit one KV value. */
export function sampleRows(scripts: readonly ScriptSummary[]): SampleRow[] {
  const rows: SampleRow[] = [];
  let chars = 0;
  for (const s of scripts) {
    const row: SampleRow = [s.name, s.rssBytes, s.cpuPercent];
    chars += JSON.stringify(row).length + 1;
    if (chars > MAX_VALUE_CHARS) break;
    rows.push(row);
  }
  return rows;
}

/**
 * How long a stored script list may go unwritten while only its running numbers change (uptime,
 * memory, CPU, pings, posts); any other change is written with the heartbeat that brings it.
 */
export const SCRIPTS_CHECKPOINT_MS = 30_000;

/**
 * A digest of all of `scripts` but their running numbers: equal digests, the same states, checks,
 * reasons, pids and restarts (an ingest that brings an equal one need not write them again).
 */
export function scriptsDigest(scripts: readonly ScriptSummary[]): string {
  const hash = createHash("sha256");
  for (const script of scripts) {
    const { uptimeMs, rssBytes: _rss, cpuPercent: _cpu, pings: _pings, posted: _posted, ...rest } =
      script;
    hash.update(JSON.stringify(rest)).update(uptimeMs === null ? "\n-" : "\n+");
  }
  return hash.digest("base64url");
}

/**
 * The writes of a heartbeat's script list, against the agent's `previous` record: its chunks when
 * anything but running numbers changed (its `digest`) or the last write is a checkpoint old, else
 * none. `chunks`, `at` and `digest` are the record's `scriptChunks`, `scriptsAt` and
 * `scriptsDigest` after them; `stale`, the chunks of a longer list before, to delete.
 */
export function scriptListWrites(
  site: string,
  host: string,
  scripts: ScriptSummary[],
  previous: Pick<AgentRecord, "scriptChunks" | "scriptsAt" | "scriptsDigest"> | null,
  now: number,
): { groups: WriteGroup[]; chunks: number; at: number; digest: string; stale: Deno.KvKey[] } {
  const digest = scriptsDigest(scripts);
  if (
    previous?.scriptsAt !== undefined && previous.scriptsDigest === digest &&
    now - previous.scriptsAt < SCRIPTS_CHECKPOINT_MS
  ) {
    const { scriptChunks: chunks, scriptsAt: at } = previous;
    return { groups: [], chunks, at, digest, stale: [] };
  }
  const groups = scriptChunks(site, host, scripts);
  const stale: Deno.KvKey[] = [];
  for (let chunk = groups.length; chunk < (previous?.scriptChunks ?? 0); chunk++) {
    stale.push(["scripts", site, host, chunk]);
  }
  return { groups, chunks: groups.length, at: now, digest, stale };
}

/**
 * `scripts` as read back from a list written at `agent.scriptsAt`: a running script's uptime
 * counted on to the agent's last heartbeat.
 */
export function scriptsAsOfLastSeen(
  agent: { lastSeenAt: string; scriptsAt?: number },
  scripts: ScriptSummary[],
): ScriptSummary[] {
  const since = agent.scriptsAt === undefined ? 0 : Date.parse(agent.lastSeenAt) - agent.scriptsAt;
  if (!(since > 0)) return scripts;
  return scripts.map((s) => s.uptimeMs === null ? s : { ...s, uptimeMs: s.uptimeMs + since });
}

/** True for the writes of one event (see {@linkcode eventGroup}). */
export function isEventGroup(group: WriteGroup): boolean {
  return group.checks.length === 1 && group.checks[0].key[0] === "event";
}

/** The script list in values of at most MAX_VALUE_CHARS of JSON each. */
export function scriptChunks(site: string, host: string, scripts: ScriptSummary[]): WriteGroup[] {
  const groups: WriteGroup[] = [];
  let chunk: ScriptSummary[] = [];
  let chars = 0;
  const flush = () => {
    groups.push({
      checks: [],
      sets: [[["scripts", site, host, groups.length], chunk]],
      deletes: [],
      bytes: chars + 200,
    });
    chunk = [];
    chars = 0;
  };
  for (const original of scripts) {
    let script = original;
    let size = JSON.stringify(script).length;
    if (size > MAX_VALUE_CHARS) {
      script = fitScript(original);
      size = JSON.stringify(script).length;
    }
    if (chunk.length > 0 && chars + size > MAX_VALUE_CHARS) flush();
    chunk.push(script);
    chars += size;
  }
  if (chunk.length > 0) flush();
  return groups;
}

/** A script too big for one KV value (its checks' reasons): its reasons cut short. */
function fitScript(script: ScriptSummary): ScriptSummary {
  return {
    ...script,
    reason: script.reason === null ? null : script.reason.slice(0, 200),
    checks: script.checks.map((check) => ({ ...check, reason: check.reason.slice(0, 100) })),
  };
}

export function keyText(key: Deno.KvKey): string {
  return JSON.stringify(key);
}

/** An agent's tokens cut to fit one KV value: long `usedBy` lists first, then whole tokens. */
export function fitTokens(tokens: readonly TokenSummary[]): TokenSummary[] {
  let fitted = [...tokens];
  if (JSON.stringify(fitted).length > MAX_VALUE_CHARS) {
    fitted = fitted.map((t) => ({ ...t, usedBy: t.usedBy.slice(0, 20) }));
  }
  while (fitted.length > 0 && JSON.stringify(fitted).length > MAX_VALUE_CHARS) fitted.pop();
  return fitted;
}

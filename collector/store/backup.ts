/**
 * A full dump of the collector's KV and its restore. The dump is JSON
 * lines: a header `{ format, version, createdAt, count }`, then one line
 * per entry `{ key, value }` in key order, keys and values in a small
 * tagged JSON that keeps what plain JSON loses (`Uint8Array`, `bigint`,
 * `Date`, `Deno.KvU64`, `undefined`, non-finite numbers).
 *
 * Consistency: the store is read twice; the dump is kept only when both
 * passes saw the same keys with the same versionstamps, so it is the
 * store as it was at the end of the first pass. A store that keeps
 * changing (a busy collector) fails after a few tries: stop it first.
 * The file is written beside the target and renamed into place.
 *
 * Restore goes into an empty KV only, in atomics of at most 1000 mutations,
 * after checking the whole file.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { basename, dirname, join } from "node:path";
import { retryLocked } from "./kv_retry.ts";
import { decodeValue, type Encoded, encodeValue } from "../../shared/kv/value_codec.ts";

/** The `format` of a dump's header line. */
export const BACKUP_FORMAT = "scriptmon-collector-backup";
/** The dump format version this code writes and reads. */
export const BACKUP_VERSION = 1;
/** KV's limit of mutations per atomic. */
const MAX_MUTATIONS = 1000;
/** Stay well under KV's total size of one atomic (about 800 KB). */
const MAX_ATOMIC_CHARS = 400_000;
/** The header is written padded to this width and rewritten with the count at the end. */
const HEADER_WIDTH = 200;

/** The first line of a dump. */
export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  /** ISO time the dump was taken. */
  createdAt: string;
  /** Entries that follow. */
  count: number;
}

/** A file that is not a whole, readable dump; the message names the file and line. */
export class BackupFormatError extends Error {
  override name = "BackupFormatError";
}

/** Restore refused: the target store is not empty. */
export class RestoreTargetError extends Error {
  override name = "RestoreTargetError";
}

/** Options of {@linkcode backupKv}. */
export interface BackupOptions {
  /** The dump's time (ms); default now. */
  now?: number;
  /** Tries before giving up on a store that keeps changing; default 5. */
  attempts?: number;
}

/**
 * Writes a consistent dump of every entry of `kv` to `file` (replacing it);
 * returns how many entries it holds.
 *
 * @throws {Error} when the store changed during every try.
 */
export async function backupKv(
  kv: KvHandle,
  file: string,
  options: BackupOptions = {},
): Promise<{ count: number }> {
  const attempts = options.attempts ?? 5;
  const temp = join(dirname(file), `.${basename(file)}.${crypto.randomUUID()}.tmp`);
  try {
    for (let attempt = 1;; attempt++) {
      const stamps = await dumpOnce(kv, temp, options.now ?? Date.now());
      const changed = await changedSince(kv, stamps);
      if (changed === 0) {
        await Deno.rename(temp, file);
        return { count: stamps.size };
      }
      if (attempt >= attempts) {
        throw new Error(
          `Cannot back up the collector's store: it kept changing (${changed} keys changed during the last of ${attempts} tries); stop the collector and back up again`,
        );
      }
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/** One pass: writes the dump to `temp`; returns each key's versionstamp. */
async function dumpOnce(kv: KvHandle, temp: string, now: number): Promise<Map<string, string>> {
  const stamps = new Map<string, string>();
  const out = await Deno.open(temp, { write: true, create: true, truncate: true });
  try {
    const encoder = new TextEncoder();
    const write = async (text: string) => {
      const bytes = encoder.encode(text);
      for (let done = 0; done < bytes.length;) done += await out.write(bytes.subarray(done));
    };
    const header = (count: number) => {
      const line = JSON.stringify(
        {
          format: BACKUP_FORMAT,
          version: BACKUP_VERSION,
          createdAt: new Date(now).toISOString(),
          count,
        } satisfies BackupHeader,
      );
      return `${line.padEnd(HEADER_WIDTH - 1)}\n`;
    };
    await write(header(0));
    let chunk = "";
    for await (const entry of kv.list({ prefix: [] }, { batchSize: 500 })) {
      const key = encodeValue([...entry.key], "key");
      const line = JSON.stringify({ key, value: encodeValue(entry.value, JSON.stringify(key)) });
      stamps.set(JSON.stringify(key), entry.versionstamp);
      chunk += `${line}\n`;
      if (chunk.length > 65_536) {
        await write(chunk);
        chunk = "";
      }
    }
    await write(chunk);
    await out.seek(0, Deno.SeekMode.Start);
    await write(header(stamps.size));
    await out.syncData();
  } finally {
    out.close();
  }
  return stamps;
}

/** How many keys differ (added, removed, rewritten) from `stamps`. */
async function changedSince(kv: KvHandle, stamps: Map<string, string>): Promise<number> {
  let changed = 0;
  let seen = 0;
  for await (const entry of kv.list({ prefix: [] }, { batchSize: 500 })) {
    const was = stamps.get(JSON.stringify(encodeValue([...entry.key], "key")));
    if (was === undefined) changed++;
    else {
      seen++;
      if (was !== entry.versionstamp) changed++;
    }
  }
  return changed + (stamps.size - seen);
}

/** Reads a dump line by line: the header, then each entry decoded. */
async function* readDump(
  file: string,
): AsyncGenerator<{ header: BackupHeader } | { key: Deno.KvKey; value: unknown; size: number }> {
  let input: Deno.FsFile;
  try {
    input = await Deno.open(file, { read: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new BackupFormatError(`Cannot read the dump "${file}": no such file`, { cause: error });
  }
  let lineNo = 0;
  let rest = "";
  const parse = (line: string): unknown => {
    try {
      return JSON.parse(line);
    } catch (error) {
      throw new BackupFormatError(
        `${file}:${lineNo}: expected a JSON line, got text that does not parse`,
        {
          cause: error,
        },
      );
    }
  };
  const handle = (line: string) => {
    lineNo++;
    if (lineNo === 1) {
      const header = parse(line) as Partial<BackupHeader>;
      if (header?.format !== BACKUP_FORMAT || header.version !== BACKUP_VERSION) {
        throw new BackupFormatError(
          `${file}:1: expected a ${BACKUP_FORMAT} header of version ${BACKUP_VERSION}, got ${
            line.trim().slice(0, 120)
          }`,
        );
      }
      return { header: header as BackupHeader };
    }
    const entry = parse(line) as { key?: Encoded; value?: Encoded };
    if (!Array.isArray(entry?.key) || !("value" in entry)) {
      throw new BackupFormatError(`${file}:${lineNo}: expected {"key": [...], "value": ...}`);
    }
    try {
      return {
        key: decodeValue(entry.key) as Deno.KvKey,
        value: decodeValue(entry.value as Encoded),
        size: line.length,
      };
    } catch (error) {
      throw new BackupFormatError(`${file}:${lineNo}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  try {
    for await (const text of input.readable.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) yield handle(line);
    }
    if (rest.trim() !== "") yield handle(rest);
  } finally {
    // The readable closes the file once read to the end; a break leaves it open.
    try {
      input.close();
    } catch { /* closed already */ }
  }
}

/**
 * Restores `file` into `kv`, which must be empty; returns how many entries it wrote.
 *
 * @throws {RestoreTargetError} when `kv` holds any entry.
 * @throws {BackupFormatError} when the file is not a whole dump (nothing is written then).
 */
export async function restoreKv(kv: KvHandle, file: string): Promise<{ count: number }> {
  for await (const entry of kv.list({ prefix: [] }, { limit: 1 })) {
    throw new RestoreTargetError(
      `Cannot restore into a store that is not empty (it holds ${
        JSON.stringify(entry.key)
      } and more); restore into an empty data_dir`,
    );
  }
  let expected = -1;
  let count = 0;
  for await (const item of readDump(file)) {
    if ("header" in item) expected = item.header.count;
    else count++;
  }
  if (count !== expected) {
    throw new BackupFormatError(
      `${file}: the header says ${expected} entries, the file holds ${count}: it is cut or corrupt`,
    );
  }
  let op = kv.atomic();
  let mutations = 0;
  let chars = 0;
  const flush = async () => {
    if (mutations === 0) return;
    const full = op;
    const result = await retryLocked(() => full.commit());
    if (!result.ok) {
      throw new Error(`Cannot restore ${file}: an atomic of ${mutations} sets failed`);
    }
    op = kv.atomic();
    mutations = 0;
    chars = 0;
  };
  for await (const item of readDump(file)) {
    if ("header" in item) continue;
    if (mutations >= MAX_MUTATIONS || chars + item.size > MAX_ATOMIC_CHARS) await flush();
    op.set(item.key, item.value);
    mutations++;
    chars += item.size;
  }
  await flush();
  return { count };
}

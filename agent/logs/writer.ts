/**
 * One script's log file, rotated by size and age without losing a line.
 *
 * The agent owns the pipe, so rotation is rename-and-reopen, never
 * copy-then-truncate: `<name>.log` becomes `<name>.<UTC time>.log` and a new
 * `<name>.log` is opened. Lines look like `2026-12-01T08:28:09.123Z out text`.
 */

import { basename, dirname, extname, join } from "node:path";

/** Options of {@linkcode RotatingLogWriter.open}. */
export interface RotatingLogWriterOptions {
  /** The current log file, e.g. `data/logs/rates.log`; rotated files sit beside it. */
  path: string;
  /** Rotate before a write would make the file larger than this. */
  maxSizeBytes: number;
  /** Rotate before writing when the file's first line is older than this. */
  maxAgeMs: number;
  /** Rotated files to keep; older ones are deleted. */
  keep: number;
  /** Clock in epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
}

/** Which pipe of the child a line came from. */
export type LogStream = "out" | "err";

const encoder = new TextEncoder();
const TIMESTAMP_LENGTH = "2026-12-01T08:28:09.123Z".length;

/** Appends timestamped lines to a log file and rotates it by size and age. */
export class RotatingLogWriter {
  #path: string;
  #maxSizeBytes: number;
  #maxAgeMs: number;
  #keep: number;
  #now: () => number;
  #file: Deno.FsFile | null = null;
  #size = 0;
  /** Epoch ms of the current file's first line; null while it is empty. */
  #firstLineAt: number | null = null;
  /** The file may end in a partial line after a failed write. */
  #needsNewline = false;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(options: RotatingLogWriterOptions) {
    this.#path = options.path;
    this.#maxSizeBytes = options.maxSizeBytes;
    this.#maxAgeMs = options.maxAgeMs;
    this.#keep = options.keep;
    this.#now = options.now ?? Date.now;
  }

  /** Opens (appending to) or creates the log file and its directory. */
  static async open(options: RotatingLogWriterOptions): Promise<RotatingLogWriter> {
    checkPositive(options.path, "maxSizeBytes", options.maxSizeBytes);
    checkPositive(options.path, "maxAgeMs", options.maxAgeMs);
    if (!Number.isInteger(options.keep) || options.keep < 0) {
      throw new RangeError(
        `Invalid keep for log "${options.path}": expected an integer >= 0, got ${options.keep}`,
      );
    }
    const writer = new RotatingLogWriter(options);
    await Deno.mkdir(dirname(options.path), { recursive: true });
    await writer.#openCurrent();
    return writer;
  }

  /** The current log file's path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Appends `lines` of one stream as one batch, after every earlier call's
   * batch. Rejects with an Error naming the file if it cannot be written; the
   * writer stays usable.
   */
  write(stream: LogStream, lines: string[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error(`Cannot write to log "${this.#path}": writer is closed`));
    }
    const at = this.#now();
    const result = this.#queue.then(() => this.#writeBatch(stream, lines, at));
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Waits for pending writes, then closes the file; later writes reject. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    this.#file?.close();
    this.#file = null;
  }

  async #writeBatch(stream: LogStream, lines: string[], at: number): Promise<void> {
    if (lines.length === 0) return;
    const prefix = `${new Date(at).toISOString()} ${stream} `;
    try {
      if (this.#file === null) await this.#openCurrent();
      if (this.#firstLineAt !== null && at - this.#firstLineAt >= this.#maxAgeMs) {
        await this.#rotate(at);
      }
      const whole = encoder.encode(formatLines(prefix, lines, 0, lines.length));
      if (this.#size + whole.length <= this.#maxSizeBytes) {
        await this.#append(whole, at);
        return;
      }
      await this.#writeSplit(prefix, lines, at);
    } catch (error) {
      throw new Error(
        `Cannot write ${lines.length} line(s) to log "${this.#path}": ${errorText(error)}`,
        { cause: error },
      );
    }
  }

  /** Writes a batch that does not fit, rotating at line boundaries. */
  async #writeSplit(prefix: string, lines: string[], at: number): Promise<void> {
    const prefixBytes = utf8Length(prefix) + 1;
    let start = 0;
    while (start < lines.length) {
      let end = start;
      let bytes = 0;
      while (end < lines.length) {
        const length = prefixBytes + utf8Length(lines[end]);
        if (this.#size + bytes + length > this.#maxSizeBytes) break;
        bytes += length;
        end++;
      }
      if (end === start) {
        if (this.#size > 0) {
          await this.#rotate(at);
          continue;
        }
        end = start + 1; // one line larger than the limit: it gets a file of its own
      }
      await this.#append(encoder.encode(formatLines(prefix, lines, start, end)), at);
      start = end;
    }
  }

  async #append(bytes: Uint8Array, at: number): Promise<void> {
    const file = this.#file!;
    if (this.#needsNewline) {
      await writeAll(file, encoder.encode("\n"));
      this.#size += 1;
      this.#needsNewline = false;
    }
    let written = 0;
    try {
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    } finally {
      this.#size += written;
      if (written > 0 && written < bytes.length) this.#needsNewline = true;
      if (written > 0 && this.#firstLineAt === null) this.#firstLineAt = at;
    }
  }

  async #openCurrent(): Promise<void> {
    const file = await Deno.open(this.#path, { create: true, append: true });
    try {
      const stat = await file.stat();
      this.#size = stat.size;
      this.#firstLineAt = stat.size === 0 ? null : await firstLineTime(this.#path, stat);
      this.#needsNewline = stat.size > 0 && !(await endsWithNewline(this.#path, stat.size));
    } catch (error) {
      file.close();
      throw error;
    }
    this.#file = file;
  }

  /** Renames the current file aside, opens a fresh one, prunes old ones. */
  async #rotate(at: number): Promise<void> {
    this.#file?.close();
    this.#file = null;
    await Deno.rename(this.#path, await freeRotatedName(this.#path, at));
    await this.#openCurrent();
    const rotated = await listRotatedFiles(this.#path);
    for (const old of rotated.slice(0, Math.max(0, rotated.length - this.#keep))) {
      await Deno.remove(old).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }
}

/** The log files of `path`: rotated ones oldest to newest, then `path` itself if it exists. */
export async function listLogFiles(path: string): Promise<string[]> {
  const { rotated, current } = await logFiles(path);
  return current ? [...rotated, path] : rotated;
}

/**
 * The rotated files of `path`, oldest to newest, whether or not `path` itself exists: in the
 * moment between a rotation's rename and the new file, `listLogFiles` has no current file to
 * leave out, and its last entry is the newest rotated one (a follower that dropped the last entry
 * skipped that file's lines; the Windows lane saw it).
 */
export async function listRotatedFiles(path: string): Promise<string[]> {
  return (await logFiles(path)).rotated;
}

async function logFiles(path: string): Promise<{ rotated: string[]; current: boolean }> {
  const dir = dirname(path);
  const { stem, ext } = splitName(path);
  const pattern = new RegExp(
    `^${escapeRegExp(stem)}\\.(\\d{8}T\\d{6}\\.\\d{3}Z)(?:-(\\d+))?${escapeRegExp(ext)}$`,
  );
  const rotated: { name: string; time: string; n: number }[] = [];
  let current = false;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      if (entry.name === basename(path)) {
        current = true;
        continue;
      }
      const match = pattern.exec(entry.name);
      if (match) rotated.push({ name: entry.name, time: match[1], n: Number(match[2] ?? 0) });
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { rotated: [], current: false };
    throw error;
  }
  rotated.sort((a, b) => a.time < b.time ? -1 : a.time > b.time ? 1 : a.n - b.n);
  return { rotated: rotated.map((r) => join(dir, r.name)), current };
}

function splitName(path: string): { stem: string; ext: string } {
  const name = basename(path);
  const ext = extname(name);
  return { stem: name.slice(0, name.length - ext.length), ext };
}

/** `<stem>.<20261201T082809.123Z>[-n]<ext>` that does not exist yet. */
async function freeRotatedName(path: string, at: number): Promise<string> {
  const { stem, ext } = splitName(path);
  const stamp = new Date(at).toISOString().replace(/[-:]/g, "");
  for (let n = 0;; n++) {
    const candidate = join(dirname(path), `${stem}.${stamp}${n === 0 ? "" : `-${n}`}${ext}`);
    try {
      await Deno.lstat(candidate);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return candidate;
      throw error;
    }
  }
}

/** The first line's timestamp, else the file's mtime, else now. */
async function firstLineTime(path: string, stat: Deno.FileInfo): Promise<number> {
  const head = await readRange(path, 0, TIMESTAMP_LENGTH);
  const time = Date.parse(new TextDecoder().decode(head));
  if (!Number.isNaN(time)) return time;
  return stat.mtime?.getTime() ?? Date.now();
}

async function endsWithNewline(path: string, size: number): Promise<boolean> {
  const last = await readRange(path, size - 1, 1);
  return last[0] === 0x0a;
}

async function readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    return await readAt(file, offset, length);
  } finally {
    file.close();
  }
}

/** Up to `length` bytes of `handle` from `offset` (fewer at the end of the file). */
export async function readAt(
  handle: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  await handle.seek(offset, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await handle.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

function formatLines(prefix: string, lines: string[], start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += prefix + lines[i] + "\n";
  return text;
}

/** UTF-8 byte length of `text` without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      bytes += 2; // a pair is 4 bytes for 2 code units; a lone surrogate becomes U+FFFD, 3 bytes
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    } else bytes += 2;
  }
  return bytes;
}

function checkPositive(path: string, name: string, value: number): void {
  if (!(value > 0)) {
    throw new RangeError(`Invalid ${name} for log "${path}": expected a number > 0, got ${value}`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

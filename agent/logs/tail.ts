/**
 * Reading a script's log back: the last lines (`logs <name>`) and following
 * new ones as they are written (`logs -f`), across rotations.
 */

import { LineSplitter } from "./line_splitter.ts";
import { listLogFiles, listRotatedFiles, readAt } from "./writer.ts";

const BLOCK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * The last `n` complete lines of the log at `path`, taking older lines from
 * the newest rotated files when the current one has fewer. Files are read
 * backwards in blocks, so a large file costs about the size of `n` lines.
 */
export async function readLastLines(path: string, n: number): Promise<string[]> {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `Invalid line count for log "${path}": expected an integer >= 0, got ${n}`,
    );
  }
  const files = await listLogFiles(path);
  let result: string[] = [];
  for (let i = files.length - 1; i >= 0 && result.length < n; i--) {
    try {
      const lines = await lastLinesOfFile(files[i], n - result.length, {
        // The current file may end in a line still being written.
        completeOnly: files[i] === path,
      });
      result = lines.concat(result);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // rotated or pruned meanwhile
    }
  }
  return result;
}

async function lastLinesOfFile(
  file: string,
  n: number,
  options: { completeOnly: boolean },
): Promise<string[]> {
  const handle = await Deno.open(file, { read: true });
  try {
    const { size } = await handle.stat();
    const blocks: Uint8Array[] = [];
    let newlines = 0;
    let start = size;
    // n + 1 newlines guarantee n whole lines after the first of them.
    while (start > 0 && newlines <= n) {
      const from = Math.max(0, start - BLOCK_BYTES);
      const block = await readAt(handle, from, start - from);
      for (const byte of block) if (byte === NEWLINE) newlines++;
      blocks.unshift(block);
      start = from;
    }
    const lines = new TextDecoder().decode(concat(blocks)).split("\n");
    const last = lines.pop();
    if (last !== "" && last !== undefined && !options.completeOnly) lines.push(last);
    if (start > 0) lines.shift(); // began mid-line
    return lines.slice(Math.max(0, lines.length - n)).map(stripCr);
  } finally {
    handle.close();
  }
}

/** Options of {@linkcode followLog}. */
export interface FollowLogOptions {
  /** Stops following; `followLog` then resolves. */
  signal: AbortSignal;
  /** Receives each batch of new complete lines, in file order. */
  onLines: (lines: string[]) => void;
  /** How often to look for new data and rotation. Default 250 ms. */
  pollMs?: number;
  /** Called once the starting point is fixed: lines written after this are delivered. */
  onReady?: () => void;
}

/** What tells one file from another across renames: `Deno.FileInfo`'s fields. */
export interface FileIdentity {
  dev: number;
  ino: number | null;
  birthtime: number | null;
}

/** Bytes kept of the end of what was read of a file, to know that file again by its content. */
const TAIL_BYTES = 64;

/** Where reading a file stopped: its identity, the offset, and the bytes just before it. */
interface ReadUpTo {
  identity: FileIdentity;
  offset: number;
  tail: Uint8Array;
}

interface Source extends ReadUpTo {
  handle: Deno.FsFile;
  splitter: LineSplitter;
}

/**
 * Delivers the lines appended to the log at `path` after the call, until
 * `signal` aborts. When the writer rotates the file, the old handle is read
 * to its end, files rotated in between are read whole, and the new file is
 * read from its start: no line lost, none twice. A missing file is waited for.
 *
 * The file last read is found again by its content (the bytes before where
 * reading stopped) as well as by its identity: under Wine a file's stat can
 * differ between its handle and its path, and a follower that took its own
 * file for a new one, or could not find it among the rotated ones, lost or
 * repeated lines (the Windows lane saw both). Found again, the file is read
 * on from where it stopped, wherever it now is.
 */
export async function followLog(path: string, options: FollowLogOptions): Promise<void> {
  const { signal, onLines } = options;
  const pollMs = options.pollMs ?? 250;
  let source: Source | null = await openSource(path, { atEnd: true });
  /** The file last read to its end, whose rest and successors are still to be read. */
  let finished: ReadUpTo | null = null;
  options.onReady?.();
  try {
    while (!signal.aborted) {
      if (source === null) {
        source = await openSource(path, { atEnd: false });
        if (source !== null) {
          if (finished !== null && await holds(source.handle, finished)) {
            // The same file after all (its stat said otherwise): on from where it stopped.
            source.offset = finished.offset;
            source.tail = finished.tail;
          } else if (finished !== null) {
            await readRotatedAfter(path, finished, source.identity, options);
          }
          await source.handle.seek(source.offset, Deno.SeekMode.Start); // `holds` read elsewhere
          finished = null;
          continue;
        }
      } else {
        await drain(source, options);
        const now = await statOrNull(path);
        if (now !== null && isReplaced(source, now)) {
          // The writer closes a file before renaming it: what the handle holds now is all.
          await drain(source, options);
          deliver(source.splitter.end(), onLines);
          source.handle.close();
          finished = { identity: source.identity, offset: source.offset, tail: source.tail };
          source = null;
          continue;
        }
      }
      await pause(pollMs, signal);
    }
  } finally {
    source?.handle.close();
  }
}

async function openSource(path: string, options: { atEnd: boolean }): Promise<Source | null> {
  const handle = await openOrNull(path);
  if (handle === null) return null;
  try {
    const stat = await handle.stat();
    const offset = options.atEnd ? await endOfLastLine(handle, stat.size) : 0;
    const tail = await readAt(
      handle,
      Math.max(0, offset - TAIL_BYTES),
      Math.min(offset, TAIL_BYTES),
    );
    await handle.seek(offset, Deno.SeekMode.Start);
    return { handle, identity: identityOf(stat), offset, tail, splitter: new LineSplitter() };
  } catch (error) {
    handle.close();
    throw error;
  }
}

/** Offset just after the last "\n" (looking back one block), so a partial line is read whole later. */
async function endOfLastLine(handle: Deno.FsFile, size: number): Promise<number> {
  const from = Math.max(0, size - BLOCK_BYTES);
  const block = await readAt(handle, from, size - from);
  const nl = block.lastIndexOf(NEWLINE);
  if (nl >= 0) return from + nl + 1;
  return from === 0 ? 0 : size;
}

/** Reads the source from its offset to the current end, delivering lines. */
async function drain(source: Source, options: FollowLogOptions): Promise<void> {
  const buffer = new Uint8Array(BLOCK_BYTES);
  while (!options.signal.aborted) {
    const n = await source.handle.read(buffer);
    if (n === null) return;
    source.offset += n;
    source.tail = lastBytes(source.tail, buffer.subarray(0, n));
    deliver(source.splitter.push(buffer.subarray(0, n)), options.onLines);
  }
}

/** Whether the file of `handle` is the one `read` stopped in: it has the same bytes before there. */
async function holds(handle: Deno.FsFile, read: ReadUpTo): Promise<boolean> {
  if (read.tail.length === 0) return false; // nothing to know it by
  const before = await readAt(handle, read.offset - read.tail.length, read.tail.length);
  return before.length === read.tail.length && before.every((byte, i) => byte === read.tail[i]);
}

/**
 * Reads what is left of the rotated file `from` stopped in (found by its content, else by its
 * identity), then whole the files rotated after it and before `to` (fast rotation between
 * polls). Lines already delivered are not read again.
 */
async function readRotatedAfter(
  path: string,
  from: ReadUpTo,
  to: FileIdentity,
  options: FollowLogOptions,
): Promise<void> {
  const rotated = await listRotatedFiles(path);
  const identities = await Promise.all(rotated.map(async (file) => {
    const stat = await statOrNull(file);
    return stat === null ? null : identityOf(stat);
  }));
  let start = -1;
  // Nothing read from it (an empty file): only its identity can find it.
  for (let i = rotated.length - 1; i >= 0 && start < 0 && from.tail.length > 0; i--) {
    if (await withFile(rotated[i], (handle) => holds(handle, from))) start = i;
  }
  if (start < 0 && from.identity.ino !== null) {
    start = identities.findIndex((id) => id !== null && sameFile(id, from.identity));
  }
  if (start < 0) return;
  for (let i = start; i < rotated.length; i++) {
    const id = identities[i];
    if (i > start && id !== null && sameFile(id, to)) return;
    await withFile(rotated[i], async (handle) => {
      const offset = i === start ? from.offset : 0;
      await handle.seek(offset, Deno.SeekMode.Start);
      const source = {
        handle,
        identity: from.identity,
        offset,
        tail: from.tail,
        splitter: new LineSplitter(),
      };
      await drain(source, options);
      deliver(source.splitter.end(), options.onLines);
    });
  }
}

/** `use` of the file at `path` opened for reading; false when it is gone. */
async function withFile(
  path: string,
  use: (handle: Deno.FsFile) => Promise<boolean | void>,
): Promise<boolean> {
  const handle = await openOrNull(path);
  if (handle === null) return false;
  try {
    return (await use(handle)) ?? true;
  } finally {
    handle.close();
  }
}

/** The file at `path` opened for reading, or null when there is none (rotated or pruned). */
async function openOrNull(path: string): Promise<Deno.FsFile | null> {
  try {
    return await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** The last {@linkcode TAIL_BYTES} of `before` followed by `bytes`. */
function lastBytes(before: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (bytes.length >= TAIL_BYTES) return bytes.slice(bytes.length - TAIL_BYTES);
  const keep = Math.min(before.length, TAIL_BYTES - bytes.length);
  const out = new Uint8Array(keep + bytes.length);
  out.set(before.subarray(before.length - keep));
  out.set(bytes, keep);
  return out;
}

function identityOf(stat: Deno.FileInfo): FileIdentity {
  return { dev: stat.dev, ino: stat.ino, birthtime: stat.birthtime?.getTime() ?? null };
}

/**
 * Whether two identities name the same file. Wine's handle stat sometimes says volume 0 for a
 * file whose path stat says its real volume (the Windows lane saw it), so a device of 0 is taken
 * as unknown; the inode alone then decides.
 */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  if (a.ino !== null && b.ino !== null) {
    return a.ino === b.ino && (a.dev === b.dev || a.dev === 0 || b.dev === 0);
  }
  if (a.birthtime !== null && b.birthtime !== null) return a.birthtime === b.birthtime;
  return true;
}

function isReplaced(source: Source, stat: Deno.FileInfo): boolean {
  return !sameFile(source.identity, identityOf(stat)) || stat.size < source.offset;
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function deliver(lines: string[], onLines: (lines: string[]) => void): void {
  if (lines.length > 0) onLines(lines);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function concat(blocks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(blocks.reduce((sum, b) => sum + b.length, 0));
  let at = 0;
  for (const block of blocks) {
    out.set(block, at);
    at += block.length;
  }
  return out;
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

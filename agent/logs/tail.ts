/**
 * Reading a script's log back: the last lines (`logs <name>`) and following
 * new ones as they are written (`logs -f`), across rotations.
 */

import { LineSplitter } from "./line_splitter.ts";
import { listLogFiles, readAt } from "./writer.ts";

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

interface Source {
  handle: Deno.FsFile;
  identity: FileIdentity;
  offset: number;
  splitter: LineSplitter;
}

/**
 * Delivers the lines appended to the log at `path` after the call, until
 * `signal` aborts. When the writer rotates the file, the old handle is read
 * to its end, files rotated in between are read whole, and the new file is
 * read from its start: no line lost, none twice. A missing file is waited for.
 */
export async function followLog(path: string, options: FollowLogOptions): Promise<void> {
  const { signal, onLines } = options;
  const pollMs = options.pollMs ?? 250;
  let source: Source | null = await openSource(path, { atEnd: true });
  /** The file last read to its end, whose successors are still to be read. */
  let finished: FileIdentity | null = null;
  options.onReady?.();
  try {
    while (!signal.aborted) {
      if (source === null) {
        source = await openSource(path, { atEnd: false });
        if (source !== null) {
          if (finished !== null) await readRotatedBetween(path, finished, source.identity, options);
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
          finished = source.identity;
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
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    const stat = await handle.stat();
    const offset = options.atEnd ? await endOfLastLine(handle, stat.size) : 0;
    await handle.seek(offset, Deno.SeekMode.Start);
    return { handle, identity: identityOf(stat), offset, splitter: new LineSplitter() };
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
    deliver(source.splitter.push(buffer.subarray(0, n)), options.onLines);
  }
}

/** Reads whole the files rotated after `from` and before `to` (fast rotation between polls). */
async function readRotatedBetween(
  path: string,
  from: FileIdentity,
  to: FileIdentity,
  options: FollowLogOptions,
): Promise<void> {
  if (from.ino === null) return;
  const rotated = (await listLogFiles(path)).slice(0, -1);
  const identities = await Promise.all(rotated.map(async (file) => {
    const stat = await statOrNull(file);
    return stat === null ? null : identityOf(stat);
  }));
  const start = identities.findIndex((id) => id !== null && sameFile(id, from));
  if (start < 0) return;
  for (let i = start + 1; i < rotated.length; i++) {
    const id = identities[i];
    if (id !== null && sameFile(id, to)) return;
    try {
      const handle = await Deno.open(rotated[i], { read: true });
      try {
        const source = { handle, identity: from, offset: 0, splitter: new LineSplitter() };
        await drain(source, options);
        deliver(source.splitter.end(), options.onLines);
      } finally {
        handle.close();
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
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

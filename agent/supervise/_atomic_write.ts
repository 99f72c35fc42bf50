/** Write a whole file or nothing: temp file, fsync, rename, then fsync the directory where the OS allows. */

import { dirname } from "node:path";

/**
 * Replace `path` with `text` atomically; a crash leaves the old file and at most a `.tmp-*` beside it.
 * `durable: false` skips the two fsyncs: the rename is still atomic for a crash of this process,
 * only a power cut may lose the write (right for a file about processes, which a power cut ends).
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  options: { durable?: boolean } = {},
): Promise<void> {
  const durable = options.durable ?? true;
  const random = crypto.getRandomValues(new Uint8Array(6));
  const suffix = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  const tmp = `${path}.tmp-${suffix}`;
  try {
    if (durable) {
      await writeSynced(tmp, text);
    } else {
      // A few system calls on a local folder: done on the agent's thread, not as three hops to
      // the thread pool (a crash-looping script writes one such file per start).
      Deno.writeTextFileSync(tmp, text, { createNew: true });
    }
    await renameOver(tmp, path);
  } catch (error) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // Never made, or already gone.
    }
    throw error;
  }
  if (durable) await syncDirectory(dirname(path));
}

/** Writes `text` to a new file at `path` and fsyncs it before closing. */
async function writeSynced(path: string, text: string): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let written = 0; written < bytes.length;) {
      written += await file.write(bytes.subarray(written));
    }
    await file.sync();
  } finally {
    file.close();
  }
}

/** fsync a directory so a rename in it survives a power cut; not possible on Windows, so best effort. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Directories cannot be opened or synced on every OS.
  } finally {
    handle?.close();
  }
}

/** Whether a file name is a temp file left by `writeFileAtomic()`. */
export function isAtomicTempFile(name: string): boolean {
  return /\.tmp-[0-9a-f]+$/.test(name);
}

/** Tries of a rename Windows refuses (see `renameOver`), about 1.5 s in all. */
const RENAME_TRIES = 8;

/**
 * `rename(from, to)`, retried a few times on Windows when refused: Windows refuses to replace a
 * file another process has open without FILE_SHARE_DELETE (a reader of the agent's holder file,
 * an antivirus scanner, the search indexer), for as long as that open lasts.
 */
async function renameOver(from: string, to: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return Deno.renameSync(from, to);
    } catch (error) {
      const refused = error instanceof Deno.errors.PermissionDenied ||
        (error instanceof Error && /os error (5|32)\)/.test(error.message));
      if (Deno.build.os !== "windows" || !refused || attempt >= RENAME_TRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 40 * attempt));
    }
  }
}

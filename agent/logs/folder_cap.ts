/**
 * A cap for the whole log folder: each script's writer keeps `keep` rotated files of its own,
 * and this keeps the folder as a whole under `[agent] log_dir_max` by deleting the oldest
 * rotated files, whichever script they belong to. Current files (the ones being written) are
 * never deleted.
 *
 * @module
 */
import { join } from "node:path";

/** A rotated log file's name: `<name>.<UTC time>[-n].<ext>` (`writer.ts`). */
const ROTATED = /\.(\d{8}T\d{6}\.\d{3}Z)(?:-(\d+))?\.[^.]+$/;

/** What one pass deleted. */
export interface FolderCapResult {
  deleted: string[];
  /** The folder's size after the pass, in bytes. */
  bytes: number;
}

/** Deletes the oldest rotated log files of `dir` until its files take at most `maxBytes`. */
export async function capLogFolder(dir: string, maxBytes: number): Promise<FolderCapResult> {
  const files: { name: string; size: number; time: string; n: number }[] = [];
  let bytes = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      const size = await Deno.stat(join(dir, entry.name)).then((s) => s.size, () => 0);
      bytes += size;
      const match = ROTATED.exec(entry.name);
      if (match) files.push({ name: entry.name, size, time: match[1], n: Number(match[2] ?? 0) });
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { deleted: [], bytes: 0 };
    throw error;
  }
  files.sort((a, b) => a.time < b.time ? -1 : a.time > b.time ? 1 : a.n - b.n);
  const deleted: string[] = [];
  for (const file of files) {
    if (bytes <= maxBytes) break;
    try {
      await Deno.remove(join(dir, file.name));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    bytes -= file.size;
    deleted.push(file.name);
  }
  return { deleted, bytes };
}

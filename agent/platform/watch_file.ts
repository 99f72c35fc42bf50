/**
 * Watching one file for changes without polling: the OS's notifications on
 * its folder (inotify, ReadDirectoryChangesW), filtered to the file's name,
 * so a file that does not exist yet, or is replaced by a rename, is seen too.
 *
 * @module
 */
import { basename, dirname } from "node:path";

/**
 * Calls `onChange` whenever `file` may have changed (created, written,
 * touched, renamed over). Returns the function that stops watching; throws
 * when the folder cannot be watched (missing, no permission), so the caller
 * can fall back to polling.
 */
export function watchFile(file: string, onChange: () => void): () => void {
  const watcher = Deno.watchFs(dirname(file), { recursive: false });
  const name = basename(file);
  (async () => {
    for await (const event of watcher) {
      if (event.paths.some((path) => basename(path) === name)) onChange();
    }
  })().catch(() => {});
  return () => {
    try {
      watcher.close();
    } catch {
      // already closed
    }
  };
}

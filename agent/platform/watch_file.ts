/**
 * Watching one file for changes without polling: the OS's notifications on
 * its folder (inotify, ReadDirectoryChangesW), filtered to the file's name,
 * so a file that does not exist yet, or is replaced by a rename, is seen too.
 *
 * Every file watched in one folder shares that folder's watcher: Deno gives
 * each `Deno.watchFs` its own OS watch and its own thread, and each of them
 * hears every change in the folder, so a hundred heartbeat files in one folder
 * watched one by one woke a hundred watchers for each touch.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";

/** One folder's shared watcher and the callbacks of each file name watched in it. */
interface Folder {
  watcher: Deno.FsWatcher;
  files: Map<string, Set<(kind: Deno.FsEvent["kind"]) => void>>;
}

const folders = new Map<string, Folder>();

/**
 * Calls `onChange` whenever `file` may have changed (created, written,
 * touched, renamed over), with what the OS said happened. Returns the
 * function that stops watching; throws when the folder cannot be watched
 * (missing, no permission), so the caller can fall back to polling.
 */
export function watchFile(
  file: string,
  onChange: (kind: Deno.FsEvent["kind"]) => void,
): () => void {
  const dir = resolve(dirname(file));
  const name = basename(file);
  let folder = folders.get(dir);
  if (folder === undefined) {
    folder = { watcher: Deno.watchFs(dir, { recursive: false }), files: new Map() };
    folders.set(dir, folder);
    void dispatch(dir, folder);
  }
  const callbacks = folder.files.get(name) ?? new Set();
  folder.files.set(name, callbacks);
  // Its own identity, should one onChange be passed twice.
  const callback = (kind: Deno.FsEvent["kind"]) => onChange(kind);
  callbacks.add(callback);
  let stopped = false;
  const watched = folder;
  return () => {
    if (stopped) return;
    stopped = true;
    callbacks.delete(callback);
    if (callbacks.size === 0) watched.files.delete(name);
    if (watched.files.size > 0) return;
    if (folders.get(dir) === watched) folders.delete(dir);
    try {
      watched.watcher.close();
    } catch {
      // already closed
    }
  };
}

/** Hands each event of `folder` to the callbacks of the file names it concerns. */
async function dispatch(dir: string, folder: Folder): Promise<void> {
  try {
    for await (const event of folder.watcher) {
      for (const name of new Set(event.paths.map((path) => basename(path)))) {
        for (const callback of [...folder.files.get(name) ?? []]) callback(event.kind);
      }
    }
  } catch {
    // The folder went away or the watch failed: its files hear nothing more, as with a watch each.
  } finally {
    if (folders.get(dir) === folder) folders.delete(dir);
  }
}

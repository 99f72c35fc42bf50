/**
 * One agent per data dir: an exclusive lock on `<dataDir>/agent.lock`
 * (flock on Linux, released by the OS when the holder dies, so never stale)
 * and the holder's identity in `<dataDir>/agent.holder.json`, a separate
 * file because Windows locks are mandatory and a locked file cannot be read.
 */

import { join } from "node:path";
import { writeFileAtomic } from "./_atomic_write.ts";
import { type Platform, platform as defaultPlatform } from "../platform/mod.ts";

/** Who holds the lock, as written in the holder file (plus any extra info, e.g. the API port). */
export interface LockHolder {
  pid: number;
  startTime?: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  mode: string;
  [key: string]: unknown;
}

/** Another agent holds the data dir's lock. */
export class LockHeldError extends Error {
  /** The holder, when its holder file could be read and it is alive. */
  readonly holder?: LockHolder;
  readonly dataDir: string;

  constructor(dataDir: string, holder?: LockHolder, options?: ErrorOptions) {
    const who = holder === undefined
      ? ""
      : ` (pid ${holder.pid}, started ${holder.startedAt}, mode ${holder.mode})`;
    super(`Another scriptmon agent is already running with data dir ${dataDir}${who}`, options);
    this.name = "LockHeldError";
    this.dataDir = dataDir;
    this.holder = holder;
  }
}

/** Options of `acquireInstanceLock()`. */
export interface AcquireInstanceLockOptions {
  /** What this agent runs as, shown to the next one: "run", "once", or a CLI verb. */
  mode: string;
  /** 0 (the default): fail at once; otherwise keep trying every ~25 ms for this long. */
  waitMs?: number;
  /** Extra data for the holder file, e.g. `{ apiPort: 8791 }`. */
  info?: Record<string, unknown>;
  /** Where the agent's own start time comes from; the machine's platform by default. */
  platform?: Platform;
}

const LOCK_FILE = "agent.lock";
const HOLDER_FILE = "agent.holder.json";
const RETRY_MS = 25;

/** A held instance lock. */
export class InstanceLock {
  /** The data dir this lock guards. */
  readonly dataDir: string;
  #file: Deno.FsFile | null;
  #holder: LockHolder;

  /** Use `acquireInstanceLock()`. */
  constructor(dataDir: string, file: Deno.FsFile, holder: LockHolder) {
    this.dataDir = dataDir;
    this.#file = file;
    this.#holder = holder;
  }

  /** What the holder file says about us. */
  get holder(): LockHolder {
    return { ...this.#holder };
  }

  /** Merge `info` into the holder file (e.g. once the API port is known). */
  async updateInfo(info: Record<string, unknown>): Promise<void> {
    if (this.#file === null) {
      throw new Error(`Cannot update the instance lock of ${this.dataDir}: already released`);
    }
    const { pid, startTime, startedAt, mode } = this.#holder;
    this.#holder = { ...this.#holder, ...info, pid, startTime, startedAt, mode };
    await writeHolder(this.dataDir, this.#holder);
  }

  /** Remove the holder file, unlock and close; a second call does nothing. */
  async release(): Promise<void> {
    const file = this.#file;
    if (file === null) return;
    this.#file = null;
    try {
      await Deno.remove(join(this.dataDir, HOLDER_FILE)).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    } finally {
      await unlockAndClose(file);
    }
  }
}

/** Take the data dir's lock or throw `LockHeldError` naming the holder. */
export async function acquireInstanceLock(
  dataDir: string,
  options: AcquireInstanceLockOptions,
): Promise<InstanceLock> {
  const waitMs = options.waitMs ?? 0;
  if (!(waitMs >= 0)) {
    throw new RangeError(`Invalid waitMs for the instance lock: expected >= 0, got ${waitMs}`);
  }
  const platform = options.platform ?? defaultPlatform;
  await Deno.mkdir(dataDir, { recursive: true });
  const file = await openLockFile(dataDir);
  try {
    const deadline = Date.now() + waitMs;
    while (!(await file.tryLock(true))) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new LockHeldError(dataDir, await liveHolder(dataDir, platform) ?? undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, left)));
    }
    const self = await platform.inspect(Deno.pid);
    const holder: LockHolder = {
      ...options.info,
      pid: Deno.pid,
      startTime: self?.startTime,
      startedAt: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      mode: options.mode,
    };
    await writeHolder(dataDir, holder);
    return new InstanceLock(dataDir, file, holder);
  } catch (error) {
    file.close();
    throw error;
  }
}

/** The agent holding the data dir's lock, or null when nobody does (a stale holder file is ignored). */
export async function readLockHolder(
  dataDir: string,
  options: { platform?: Platform } = {},
): Promise<LockHolder | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(dataDir, LOCK_FILE), { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    if (await file.tryLock(true)) return null;
  } finally {
    await unlockAndClose(file);
  }
  return await liveHolder(dataDir, options.platform ?? defaultPlatform);
}

/**
 * Unlocks and closes `file`. Closing releases a lock too, so a failed unlock
 * loses nothing: under Wine `unlock()` fails with "Lock violation (os error
 * 33)" on a lock it holds (WINDOWS.md), and on Windows closing the handle ends
 * the lock.
 */
async function unlockAndClose(file: Deno.FsFile): Promise<void> {
  try {
    await file.unlock();
  } catch {
    // The close below releases it.
  } finally {
    file.close();
  }
}

function openLockFile(dataDir: string): Promise<Deno.FsFile> {
  return Deno.open(join(dataDir, LOCK_FILE), { read: true, write: true, create: true });
}

function writeHolder(dataDir: string, holder: LockHolder): Promise<void> {
  return writeFileAtomic(join(dataDir, HOLDER_FILE), JSON.stringify(holder, null, 2) + "\n");
}

/** The holder file's contents if they describe a live process (same pid and start time). */
async function liveHolder(dataDir: string, platform: Platform): Promise<LockHolder | null> {
  let holder: unknown;
  try {
    holder = JSON.parse(await Deno.readTextFile(join(dataDir, HOLDER_FILE)));
  } catch {
    // Missing (the holder has not written it yet) or half-written by a crash.
    return null;
  }
  if (
    typeof holder !== "object" || holder === null || !("pid" in holder) ||
    !Number.isInteger(holder.pid) || (holder.pid as number) <= 0
  ) {
    return null;
  }
  const record = holder as LockHolder;
  const info = await platform.inspect(record.pid);
  if (info === null) return null;
  if (record.startTime !== undefined && info.startTime !== record.startTime) return null;
  return record;
}

/**
 * Gives memory a long-running program (the agent, the collector) no longer uses back to the
 * operating system, on Linux with glibc:
 *
 * - the C heap's freed pages (`malloc_trim(0)`). `deno run` parses a module it has not seen
 *   before (the first start after an install or an upgrade, which then runs for months) with
 *   memory it frees but glibc keeps: 30 MB of an agent's 117 MB RSS, measured in
 *   `bench/README.md`;
 * - the pages of its own executable that it read while starting and does not touch since (Deno's
 *   start-up snapshot, start-up code): about 47 MB of the resident set of an agent with 100
 *   scripts, of which it uses some 20 MB once settled, and as much of an idle collector's. Each
 *   read-only mapping of the executable that holds no private copy of a page (`Anonymous: 0 kB`
 *   in `/proc/self/smaps`) is dropped from the process with `madvise(MADV_DONTNEED)`. Its pages
 *   are clean copies of the file, so nothing is lost: the page cache keeps them until the system
 *   needs the memory, and a page touched again is mapped back from there (a minor fault). Only
 *   the executable's mappings are touched: they live as long as the process, so none can be
 *   replaced by other memory between reading `smaps` and the call.
 *
 * Elsewhere (not Linux, not glibc, no FFI) nothing is done.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** `MADV_DONTNEED` on Linux (the same number on x86-64 and arm64). */
const MADV_DONTNEED = 4;

interface Libc {
  trim(): void;
  /** Drops `length` bytes of mappings from `start`; 0 on success. */
  dontNeed(start: bigint, length: bigint): number;
}

let libc: Libc | null | undefined;

/** The two calls, looked up once; null where there are none (not Linux, not glibc, no FFI). */
function lookUp(): Libc | null {
  if (Deno.build.os !== "linux") return null;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  try {
    const { symbols } = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
      madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    });
    return {
      trim: () => void symbols.malloc_trim(0n),
      dontNeed: (start, length) =>
        symbols.madvise(Deno.UnsafePointer.create(start), length, MADV_DONTNEED),
    };
  } catch {
    return null; // musl, or no libc.so.6
  }
}

/** A mapping of the executable that may be dropped: read-only, private, no page copied. */
export interface CleanMapping {
  start: bigint;
  end: bigint;
  /** Its resident size, in kB. */
  residentKb: number;
}

/**
 * The mappings of `path` in an `smaps` text that can be dropped without losing anything: not
 * writable, private, backed by the file alone (no anonymous page), and resident at all.
 */
export function cleanMappings(smaps: string, path: string): CleanMapping[] {
  const found: CleanMapping[] = [];
  let current: (CleanMapping & { anonymousKb: number }) | null = null;
  const finish = () => {
    if (current !== null && current.anonymousKb === 0 && current.residentKb > 0) {
      const { start, end, residentKb } = current;
      found.push({ start, end, residentKb });
    }
    current = null;
  };
  for (const line of smaps.split("\n")) {
    // "7f00-7f80 r-xp 00001000 08:01 1234   /usr/bin/deno" starts a mapping; "Rss:  12 kB" follow.
    const head = /^([0-9a-f]+)-([0-9a-f]+) ([-r][-w][-x][ps]) \S+ \S+ \d+ *(.*)$/.exec(line);
    if (head !== null) {
      finish();
      const [, start, end, perms, file] = head;
      if (file === path && perms[1] === "-" && perms[3] === "p") {
        current = {
          start: BigInt(`0x${start}`),
          end: BigInt(`0x${end}`),
          residentKb: 0,
          anonymousKb: Number.NaN, // unknown until its line is read: kept only once it says 0
        };
      }
      continue;
    }
    if (current === null) continue;
    const field = /^(Rss|Anonymous): +(\d+) kB/.exec(line);
    if (field?.[1] === "Rss") current.residentKb = Number(field[2]);
    else if (field?.[1] === "Anonymous") current.anonymousKb = Number(field[2]);
  }
  finish();
  return found;
}

/** What one {@linkcode trimMemory} did. */
export interface Trimmed {
  /** kB of the executable's pages dropped from the process (they stay in the page cache). */
  executableKb: number;
}

/** Gives freed and unused memory back to the system; null where this platform cannot. */
export async function trimMemory(): Promise<Trimmed | null> {
  if (libc === undefined) libc = lookUp();
  if (libc === null) return null;
  libc.trim();
  let executableKb = 0;
  try {
    const path = await Deno.realPath(Deno.execPath());
    for (const mapping of cleanMappings(await Deno.readTextFile("/proc/self/smaps"), path)) {
      if (libc.dontNeed(mapping.start, mapping.end - mapping.start) === 0) {
        executableKb += mapping.residentKb;
      }
    }
  } catch {
    // no /proc (a locked-down container): the C heap was still trimmed
  }
  return { executableKb };
}

/** {@linkcode trimMemory} for a periodic pass: what it did logged at debug, a failure at warn. */
export async function giveBackMemory(log: Logger): Promise<void> {
  try {
    const trimmed = await trimMemory();
    if (trimmed !== null) {
      log.debug("Gave back {kb} kB of the executable's pages", { kb: trimmed.executableKb });
    }
  } catch (error) {
    log.warn("Giving memory back failed: {error}", { error });
  }
}

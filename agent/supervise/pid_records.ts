/**
 * PID records: which process runs which script, written atomically to
 * `<dir>/<script>.pid.json`. A record is trusted only while the live process
 * still has its pid, start time and command line, so a reused pid or an
 * unrelated `python.exe` is never mistaken for our script.
 */

import { join } from "node:path";
import { isAtomicTempFile, writeFileAtomic } from "./_atomic_write.ts";
import type { Platform, ProcessInfo } from "../platform/mod.ts";

/** One running script as the agent recorded it. */
export interface PidRecord {
  script: string;
  pid: number;
  /** `ProcessInfo.startTime` of the process when it was recorded. */
  startTime: string;
  /** The command line as the OS reported it (or as started). */
  argv: string[];
  /** Who started it: the daemon (`agent run`) or a cron pass (`agent once`). */
  owner: "daemon" | "once";
  agentPid: number;
  /** ISO time the agent started it. */
  startedAt: string;
  logPath?: string;
}

/** The result of reading one record: the record, or null with an `error` when the file is corrupt. */
export interface PidRecordRead {
  script: string;
  record: PidRecord | null;
  /** Set when the file exists but is not a valid record. */
  error?: SyntaxError | TypeError;
}

/** What `verifyPidRecord()` found. */
export type PidRecordCheck =
  | { status: "alive"; info: ProcessInfo }
  | { status: "gone" }
  | { status: "mismatch"; reason: string };

const SUFFIX = ".pid.json";

/** The record file of one script; the name must be safe as a file name. */
export function pidRecordPath(dir: string, script: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(script)) {
    throw new TypeError(
      `Invalid script name for a PID record: expected letters, digits, "_", "-" or ".", got "${script}"`,
    );
  }
  return join(dir, `${script}${SUFFIX}`);
}

/**
 * Write (or replace) a script's record atomically, creating `dir` if needed.
 * Not fsynced: a record describes running processes, and what ends them all
 * (a power cut, a reboot) also makes the record stale, which is read as such;
 * the rename keeps it whole if the agent crashes. A crash-looping script
 * writes one per start, and two fsyncs each were most of a restart's cost.
 */
export async function writePidRecord(dir: string, record: PidRecord): Promise<void> {
  const path = pidRecordPath(dir, record.script);
  checkRecord(record, path);
  const text = JSON.stringify(record, null, 2) + "\n";
  try {
    await writeFileAtomic(path, text, { durable: false });
  } catch (error) {
    // The folder is made on the first write (or again if someone removed it), not on every one.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(path, text, { durable: false });
  }
}

/** Read one script's record: `record: null` when there is none or (with `error`) when it is corrupt. */
export async function readPidRecord(dir: string, script: string): Promise<PidRecordRead> {
  const path = pidRecordPath(dir, script);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { script, record: null };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      script,
      record: null,
      error: new SyntaxError(`Invalid PID record "${path}": not JSON`, { cause: error }),
    };
  }
  try {
    checkRecord(value, path);
  } catch (error) {
    return { script, record: null, error: error as TypeError };
  }
  if (value.script !== script) {
    const error = new TypeError(
      `Invalid PID record "${path}": it names script "${value.script}", expected "${script}"`,
    );
    return { script, record: null, error };
  }
  return { script, record: value };
}

/** Read every record in `dir` (none when it does not exist); temp files of interrupted writes are skipped. */
export async function readPidRecords(dir: string): Promise<PidRecordRead[]> {
  const scripts: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || isAtomicTempFile(entry.name) || !entry.name.endsWith(SUFFIX)) continue;
      scripts.push(entry.name.slice(0, -SUFFIX.length));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  scripts.sort();
  return await Promise.all(scripts.map((script) => readPidRecord(dir, script)));
}

/** Remove a script's record; a missing one is fine. One system call, made on the agent's thread. */
export function removePidRecord(dir: string, script: string): Promise<void> {
  return Promise.try(() => {
    try {
      Deno.removeSync(pidRecordPath(dir, script));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  });
}

/**
 * Removes the records of scripts `configured` does not know (removed from the config while the
 * agent was not running) whose process is gone, or that are corrupt; returns their names. A
 * record whose process still runs is kept: that process is someone's script, and the record is
 * how a later `stop` or the same script added back finds it.
 */
export async function removeStalePidRecords(
  dir: string,
  configured: (script: string) => boolean,
  platform: Platform,
): Promise<string[]> {
  const removed: string[] = [];
  for (const { script, record } of await readPidRecords(dir)) {
    if (configured(script)) continue;
    if (record !== null && (await verifyPidRecord(record, platform)).status === "alive") continue;
    await removePidRecord(dir, script);
    removed.push(script);
  }
  return removed;
}

/** Whether the live process with the record's pid is still the recorded one. */
export async function verifyPidRecord(
  record: PidRecord,
  platform: Platform,
): Promise<PidRecordCheck> {
  const info = await platform.inspect(record.pid);
  if (info === null) return { status: "gone" };
  if (info.startTime !== record.startTime) {
    return {
      status: "mismatch",
      reason: `pid ${record.pid} was reused: the live process started at ${info.startTime}, ` +
        `the record says ${record.startTime}`,
    };
  }
  if (!matchesCommandLine(record.argv, info.commandLine)) {
    return {
      status: "mismatch",
      reason: `pid ${record.pid} runs ${JSON.stringify(info.commandLine)}, not the recorded ${
        JSON.stringify(record.argv)
      }`,
    };
  }
  return { status: "alive", info };
}

/**
 * Whether `recorded` is `live` or its tail (an interpreter may precede it:
 * `./x.sh a` shows as `/bin/sh ./x.sh a`). The first recorded word is
 * compared by program name (`python` matches `C:\Python311\python.exe`), the
 * rest exactly.
 */
export function matchesCommandLine(recorded: string[], live: string[]): boolean {
  if (recorded.length === 0 || recorded.length > live.length) return false;
  const offset = live.length - recorded.length;
  if (programName(recorded[0]) !== programName(live[offset])) return false;
  return recorded.every((word, i) => i === 0 || word === live[offset + i]);
}

function programName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? "";
  return base.replace(/\.exe$/i, "").toLowerCase();
}

function checkRecord(value: unknown, path: string): asserts value is PidRecord {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new TypeError(
      `Invalid PID record "${path}": field "${field}" must be ${expected}, got ${
        JSON.stringify(got)
      }`,
    );
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("(root)", "an object", value);
  }
  const r = value as Record<string, unknown>;
  if (typeof r.script !== "string" || r.script === "") fail("script", "a name", r.script);
  for (const field of ["pid", "agentPid"]) {
    if (!Number.isInteger(r[field]) || (r[field] as number) <= 0) {
      fail(field, "a positive integer", r[field]);
    }
  }
  if (typeof r.startTime !== "string" || r.startTime === "") {
    fail("startTime", "a string", r.startTime);
  }
  if (
    !Array.isArray(r.argv) || r.argv.length === 0 || !r.argv.every((a) => typeof a === "string")
  ) {
    fail("argv", "a non-empty array of strings", r.argv);
  }
  if (r.owner !== "daemon" && r.owner !== "once") fail("owner", '"daemon" or "once"', r.owner);
  if (typeof r.startedAt !== "string" || Number.isNaN(Date.parse(r.startedAt))) {
    fail("startedAt", "an ISO time", r.startedAt);
  }
  if (r.logPath !== undefined && typeof r.logPath !== "string") {
    fail("logPath", "a string", r.logPath);
  }
}

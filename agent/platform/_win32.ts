/**
 * The few kernel32 and ntdll calls the Windows platform makes, through Deno's
 * FFI: Job Objects (a script's whole tree, killed when the agent's handle
 * closes), process facts (start time, parent, image, command line, memory,
 * CPU) in milliseconds instead of a PowerShell CIM query, and console control
 * events. The library is opened on first use, so importing this on Linux
 * costs nothing; the struct layouts are decoded by pure functions tested on
 * any OS.
 *
 * @module
 */

/** An open Windows handle (a job or a process). */
export type Handle = Deno.PointerObject;

/** The calls {@linkcode WindowsPlatform} makes; a recording stand-in implements it in tests. */
export interface Win32 {
  /** A new unnamed job that kills every process in it when its last handle closes. */
  createKillOnCloseJob(): Handle;
  /** Puts the process `pid` into `job` (its later children follow it). False if it is gone. */
  assignToJob(job: Handle, pid: number): boolean;
  /** The pids of the processes in `job` now. */
  jobPids(job: Handle): number[];
  /** Ends every process in `job` with `exitCode`. */
  terminateJob(job: Handle, exitCode: number): void;
  /** Closes a handle. */
  close(handle: Handle): void;
  /** Start time, parent, image and command line of a live process; null when there is none. */
  processFacts(pid: number): ProcessFacts | null;
  /** Every process's pid, parent and image name, in one snapshot. */
  snapshot(): SnapshotEntry[];
  /** Memory (working set) and CPU time of a live process; null when it cannot be opened. */
  resources(pid: number): { rssBytes: number; cpuSeconds: number } | null;
}

/** The named-mutex calls machine claims make (`machine_claim.ts`); a stand-in implements them in tests. */
export interface Win32Mutexes {
  /**
   * Opens (or creates) the named mutex `name` and tries to own it without
   * waiting: `owned` (also when its last owner died), `busy` (a live process
   * owns it; the handle is closed), `denied` (it exists with a DACL that
   * shuts this user out).
   */
  tryMutex(name: string): { state: "owned"; handle: Handle } | { state: "busy" | "denied" };
  /** Releases an owned mutex and closes its handle. */
  releaseMutex(handle: Handle): void;
}

/** What {@linkcode Win32.processFacts} reads about one process. */
export interface ProcessFacts {
  pid: number;
  ppid: number;
  /** Creation time, ISO 8601 UTC to the millisecond (stable for the process's life). */
  startTime: string;
  /** The full path of its executable; empty when Windows would not say. */
  image: string;
  /** Its command line as the process received it; empty when it could not be read. */
  commandLine: string;
}

/** One row of a Toolhelp process snapshot. */
export interface SnapshotEntry {
  pid: number;
  ppid: number;
  /** The executable's file name, as `python.exe`. */
  name: string;
}

/** WaitForSingleObject's answers, and CreateMutexW's error for a mutex this user may not open. */
export const WAIT_OBJECT_0 = 0;
export const WAIT_ABANDONED = 0x80;
export const ERROR_ACCESS_DENIED = 5;

/** A NUL-terminated UTF-16LE copy of `text`, as the W calls take names. */
export function wideZ(text: string): Uint8Array {
  const out = new Uint8Array((text.length + 1) * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), true);
  return out;
}

/** JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE. */
export const KILL_ON_JOB_CLOSE = 0x2000;
/** JobObjectExtendedLimitInformation, the class SetInformationJobObject is given. */
export const JOB_EXTENDED_LIMIT_CLASS = 9;
/** sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION) on x64. */
export const JOB_EXTENDED_LIMIT_SIZE = 144;
/** JobObjectBasicProcessIdList. */
export const JOB_PID_LIST_CLASS = 3;
/** GetExitCodeProcess's code for a process still running. */
export const STILL_ACTIVE = 259;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const PROCESS_VM_READ = 0x0010;
const PROCESS_SET_QUOTA = 0x0100;
const PROCESS_TERMINATE = 0x0001;
const TH32CS_SNAPPROCESS = 0x2;
/** sizeof(PROCESSENTRY32W) on x64. */
export const PROCESSENTRY32W_SIZE = 568;
/** 100 ns intervals between 1601-01-01 (FILETIME's epoch) and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

/** The JOBOBJECT_EXTENDED_LIMIT_INFORMATION that makes a job kill its processes on close. */
export function killOnCloseLimits(): Uint8Array {
  const info = new Uint8Array(JOB_EXTENDED_LIMIT_SIZE);
  // BasicLimitInformation.LimitFlags follows two LARGE_INTEGER time limits.
  new DataView(info.buffer).setUint32(16, KILL_ON_JOB_CLOSE, true);
  return info;
}

/** The pids of a JOBOBJECT_BASIC_PROCESS_ID_LIST (two DWORD counts, then ULONG_PTR ids). */
export function decodePidList(buffer: Uint8Array): number[] {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const listed = Math.min(view.getUint32(4, true), Math.floor((buffer.byteLength - 8) / 8));
  const pids: number[] = [];
  for (let i = 0; i < listed; i++) pids.push(Number(view.getBigUint64(8 + 8 * i, true)));
  return pids;
}

/** A FILETIME (100 ns since 1601, as a 64-bit count) as ISO 8601 UTC. */
export function fileTimeToIso(ticks: bigint): string {
  return new Date(Number((ticks - FILETIME_UNIX_EPOCH) / 10_000n)).toISOString();
}

/** The pid, parent pid and file name of one PROCESSENTRY32W. */
export function decodeProcessEntry(entry: Uint8Array): SnapshotEntry {
  const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength);
  return {
    pid: view.getUint32(8, true),
    ppid: view.getUint32(32, true),
    name: utf16z(entry.subarray(44, PROCESSENTRY32W_SIZE)),
  };
}

/** A NUL-terminated UTF-16LE string. */
export function utf16z(bytes: Uint8Array): string {
  const text = new TextDecoder("utf-16le").decode(bytes);
  const end = text.indexOf("\0");
  return end === -1 ? text : text.slice(0, end);
}

const SYMBOLS = {
  CreateJobObjectW: { parameters: ["pointer", "pointer"], result: "pointer" },
  SetInformationJobObject: { parameters: ["pointer", "i32", "buffer", "u32"], result: "i32" },
  AssignProcessToJobObject: { parameters: ["pointer", "pointer"], result: "i32" },
  QueryInformationJobObject: {
    parameters: ["pointer", "i32", "buffer", "u32", "pointer"],
    result: "i32",
  },
  TerminateJobObject: { parameters: ["pointer", "u32"], result: "i32" },
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  GetLastError: { parameters: [], result: "u32" },
  CreateMutexExW: { parameters: ["buffer", "buffer", "u32", "u32"], result: "pointer" },
  WaitForSingleObject: { parameters: ["pointer", "u32"], result: "u32" },
  ReleaseMutex: { parameters: ["pointer"], result: "i32" },
  GetExitCodeProcess: { parameters: ["pointer", "buffer"], result: "i32" },
  GetProcessTimes: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  QueryFullProcessImageNameW: { parameters: ["pointer", "u32", "buffer", "buffer"], result: "i32" },
  ReadProcessMemory: {
    parameters: ["pointer", "pointer", "buffer", "usize", "pointer"],
    result: "i32",
  },
  CreateToolhelp32Snapshot: { parameters: ["u32", "u32"], result: "pointer" },
  Process32FirstW: { parameters: ["pointer", "buffer"], result: "i32" },
  Process32NextW: { parameters: ["pointer", "buffer"], result: "i32" },
  K32GetProcessMemoryInfo: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
} as const;

const ADVAPI_SYMBOLS = {
  ConvertStringSecurityDescriptorToSecurityDescriptorW: {
    parameters: ["buffer", "u32", "buffer", "pointer"],
    result: "i32",
  },
} as const;

/**
 * Who may use a machine claim's mutex: every signed-in user may wait on it and release it
 * (SYNCHRONIZE | MUTEX_MODIFY_STATE), SYSTEM and administrators everything. Without it the
 * mutex gets its creator's default DACL, which shuts the other users' agents out.
 */
export const MUTEX_SDDL = "D:(A;;0x00100001;;;AU)(A;;0x001F0001;;;SY)(A;;0x001F0001;;;BA)";
/** The access an agent asks for on a claim's mutex (all that waiting and releasing need). */
export const MUTEX_ACCESS = 0x00100001;

/** A SECURITY_ATTRIBUTES (x64: nLength, padding, lpSecurityDescriptor, bInheritHandle) for `descriptor`. */
export function securityAttributes(descriptor: bigint): Uint8Array {
  const attributes = new Uint8Array(24);
  const view = new DataView(attributes.buffer);
  view.setUint32(0, attributes.length, true);
  view.setBigUint64(8, descriptor, true);
  return attributes;
}

const NT_SYMBOLS = {
  NtQueryInformationProcess: {
    parameters: ["pointer", "i32", "buffer", "u32", "pointer"],
    result: "i32",
  },
} as const;

/** ProcessBasicInformation and ProcessCommandLineInformation (Windows 8.1+; not in Wine 10). */
const PROCESS_BASIC_INFORMATION = 0;
const PROCESS_COMMAND_LINE_INFORMATION = 60;

/** kernel32 and ntdll through `Deno.dlopen`, opened on the first call. */
export class FfiWin32 implements Win32, Win32Mutexes {
  #k32: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null = null;
  #nt: Deno.DynamicLibrary<typeof NT_SYMBOLS>["symbols"] | null = null;
  #mutexAttributes: Uint8Array | null = null;

  get #k(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
    this.#k32 ??= Deno.dlopen("kernel32.dll", SYMBOLS).symbols;
    return this.#k32;
  }

  get #ntdll(): Deno.DynamicLibrary<typeof NT_SYMBOLS>["symbols"] {
    this.#nt ??= Deno.dlopen("ntdll.dll", NT_SYMBOLS).symbols;
    return this.#nt;
  }

  createKillOnCloseJob(): Handle {
    const job = this.#k.CreateJobObjectW(null, null);
    if (job === null) throw this.#error("CreateJobObjectW");
    const limits = killOnCloseLimits();
    if (!this.#k.SetInformationJobObject(job, JOB_EXTENDED_LIMIT_CLASS, limits, limits.length)) {
      const error = this.#error("SetInformationJobObject");
      this.#k.CloseHandle(job);
      throw error;
    }
    return job;
  }

  assignToJob(job: Handle, pid: number): boolean {
    const process = this.#k.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, 0, pid);
    if (process === null) return false;
    try {
      if (this.#k.AssignProcessToJobObject(job, process)) return true;
      throw this.#error(`AssignProcessToJobObject for pid ${pid}`);
    } finally {
      this.#k.CloseHandle(process);
    }
  }

  jobPids(job: Handle): number[] {
    // Room for 1,024 processes: more than a script's tree ever has.
    const list = new Uint8Array(8 + 8 * 1024);
    if (!this.#k.QueryInformationJobObject(job, JOB_PID_LIST_CLASS, list, list.length, null)) {
      throw this.#error("QueryInformationJobObject");
    }
    return decodePidList(list);
  }

  terminateJob(job: Handle, exitCode: number): void {
    if (!this.#k.TerminateJobObject(job, exitCode)) throw this.#error("TerminateJobObject");
  }

  close(handle: Handle): void {
    this.#k.CloseHandle(handle);
  }

  tryMutex(name: string): { state: "owned"; handle: Handle } | { state: "busy" | "denied" } {
    const handle = this.#k.CreateMutexExW(this.#attributes(), wideZ(name), 0, MUTEX_ACCESS);
    if (handle === null) {
      if (this.#k.GetLastError() === ERROR_ACCESS_DENIED) return { state: "denied" };
      throw this.#error("CreateMutexW");
    }
    const waited = this.#k.WaitForSingleObject(handle, 0);
    if (waited === WAIT_OBJECT_0 || waited === WAIT_ABANDONED) return { state: "owned", handle };
    this.#k.CloseHandle(handle);
    return { state: "busy" };
  }

  /** The SECURITY_ATTRIBUTES of `MUTEX_SDDL`, made once (the descriptor lives as long as the agent). */
  #attributes(): Uint8Array {
    if (this.#mutexAttributes === null) {
      const advapi = Deno.dlopen("advapi32.dll", ADVAPI_SYMBOLS).symbols;
      const out = new BigUint64Array(1);
      if (
        !advapi.ConvertStringSecurityDescriptorToSecurityDescriptorW(
          wideZ(MUTEX_SDDL),
          1,
          new Uint8Array(out.buffer),
          null,
        )
      ) {
        throw this.#error("ConvertStringSecurityDescriptorToSecurityDescriptorW");
      }
      this.#mutexAttributes = securityAttributes(out[0]);
    }
    return this.#mutexAttributes;
  }

  releaseMutex(handle: Handle): void {
    this.#k.ReleaseMutex(handle);
    this.#k.CloseHandle(handle);
  }

  processFacts(pid: number): ProcessFacts | null {
    const process = this.#open(pid, PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ) ??
      this.#open(pid, PROCESS_QUERY_LIMITED_INFORMATION);
    if (process === null) return null;
    try {
      const created = this.#times(process)?.created;
      if (created === undefined) return null;
      const basic = new Uint8Array(48);
      const ok = this.#ntdll.NtQueryInformationProcess(
        process,
        PROCESS_BASIC_INFORMATION,
        basic,
        basic.length,
        null,
      ) === 0;
      const view = new DataView(basic.buffer);
      return {
        pid,
        // PROCESS_BASIC_INFORMATION: ExitStatus, PebBaseAddress, AffinityMask, BasePriority,
        // UniqueProcessId, InheritedFromUniqueProcessId (pointer-sized each on x64).
        ppid: ok ? Number(view.getBigUint64(40, true)) : 0,
        startTime: fileTimeToIso(created),
        image: this.#image(process),
        commandLine: this.#commandLine(process, ok ? view.getBigUint64(8, true) : 0n),
      };
    } finally {
      this.#k.CloseHandle(process);
    }
  }

  snapshot(): SnapshotEntry[] {
    const snap = this.#k.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    // INVALID_HANDLE_VALUE is -1: a pointer whose value is all ones.
    if (snap === null || Deno.UnsafePointer.value(snap) === 0xffff_ffff_ffff_ffffn) {
      throw this.#error("CreateToolhelp32Snapshot");
    }
    try {
      const entry = new Uint8Array(PROCESSENTRY32W_SIZE);
      new DataView(entry.buffer).setUint32(0, PROCESSENTRY32W_SIZE, true);
      const rows: SnapshotEntry[] = [];
      // A bound far above any real process count, so a broken snapshot cannot loop forever.
      let more = this.#k.Process32FirstW(snap, entry);
      for (let i = 0; more && i < 1_000_000; i++) {
        rows.push(decodeProcessEntry(entry));
        more = this.#k.Process32NextW(snap, entry);
      }
      return rows;
    } finally {
      this.#k.CloseHandle(snap);
    }
  }

  resources(pid: number): { rssBytes: number; cpuSeconds: number } | null {
    const process = this.#open(pid, PROCESS_QUERY_LIMITED_INFORMATION);
    if (process === null) return null;
    try {
      const times = this.#times(process);
      // PROCESS_MEMORY_COUNTERS: cb, PageFaultCount, PeakWorkingSetSize, WorkingSetSize, ...
      const counters = new Uint8Array(72);
      new DataView(counters.buffer).setUint32(0, counters.length, true);
      const rss = this.#k.K32GetProcessMemoryInfo(process, counters, counters.length)
        ? Number(new DataView(counters.buffer).getBigUint64(16, true))
        : 0;
      const cpu = times === null ? 0 : Number(times.kernel + times.user) / 10_000_000;
      return { rssBytes: rss, cpuSeconds: cpu };
    } finally {
      this.#k.CloseHandle(process);
    }
  }

  /** A handle to a process still running, or null (gone, or not ours to open). */
  #open(pid: number, access: number): Handle | null {
    const process = this.#k.OpenProcess(access, 0, pid);
    if (process === null) return null;
    const code = new Uint8Array(4);
    if (
      this.#k.GetExitCodeProcess(process, code) &&
      new DataView(code.buffer).getUint32(0, true) !== STILL_ACTIVE
    ) {
      this.#k.CloseHandle(process);
      return null;
    }
    return process;
  }

  #times(process: Handle): { created: bigint; kernel: bigint; user: bigint } | null {
    const [created, exited, kernel, user] = [0, 1, 2, 3].map(() => new Uint8Array(8));
    if (!this.#k.GetProcessTimes(process, created, exited, kernel, user)) return null;
    const read = (b: Uint8Array) => new DataView(b.buffer).getBigUint64(0, true);
    return { created: read(created), kernel: read(kernel), user: read(user) };
  }

  #image(process: Handle): string {
    const chars = 1024;
    const name = new Uint8Array(chars * 2);
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, chars, true);
    if (!this.#k.QueryFullProcessImageNameW(process, 0, name, size)) return "";
    return new TextDecoder("utf-16le").decode(
      name.subarray(0, new DataView(size.buffer).getUint32(0, true) * 2),
    );
  }

  /**
   * The command line: ProcessCommandLineInformation where Windows has it,
   * else read from the process's PEB (RTL_USER_PROCESS_PARAMETERS.CommandLine).
   */
  #commandLine(process: Handle, peb: bigint): string {
    const buffer = new Uint8Array(65_536);
    const status = this.#ntdll.NtQueryInformationProcess(
      process,
      PROCESS_COMMAND_LINE_INFORMATION,
      buffer,
      buffer.length,
      null,
    );
    if (status === 0) {
      // A UNICODE_STRING (Length, MaximumLength, padding, Buffer) followed by its characters.
      const length = new DataView(buffer.buffer).getUint16(0, true);
      return new TextDecoder("utf-16le").decode(buffer.subarray(16, 16 + length));
    }
    if (peb === 0n) return "";
    const params = this.#readPointer(process, peb + 0x20n);
    if (params === null) return "";
    const header = this.#read(process, params + 0x70n, 16);
    if (header === null) return "";
    const view = new DataView(header.buffer);
    const text = this.#read(process, view.getBigUint64(8, true), view.getUint16(0, true));
    return text === null ? "" : new TextDecoder("utf-16le").decode(text);
  }

  #readPointer(process: Handle, address: bigint): bigint | null {
    const bytes = this.#read(process, address, 8);
    return bytes === null ? null : new DataView(bytes.buffer).getBigUint64(0, true);
  }

  #read(process: Handle, address: bigint, size: number): Uint8Array | null {
    if (address === 0n || size === 0) return size === 0 ? new Uint8Array(0) : null;
    const out = new Uint8Array(size);
    const from = Deno.UnsafePointer.create(address);
    return this.#k.ReadProcessMemory(process, from, out, BigInt(size), null) ? out : null;
  }

  #error(call: string): Error {
    return new Error(`${call} failed (Windows error ${this.#k.GetLastError()})`);
  }
}

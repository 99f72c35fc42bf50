/**
 * Machine-wide claims: one agent of the workstation, whichever user's, holds
 * the claim of a `singleton = "machine"` script (and of the machine's relay
 * dedupe). A claim is a kernel object that lives exactly as long as the
 * process holding it, so the operating system releases it when the holder
 * exits, crashes or its session is killed, and no file is involved that
 * another user could create first.
 *
 * - Linux: an abstract Unix socket, `@scriptmon/machine/<name>#<slot>`,
 *   bound and listening. Abstract names have no file, no permissions and no
 *   stale state: the name is free the moment the holder's socket closes. The
 *   holder is identified by the kernel (`SO_PEERCRED` of a connection: the
 *   pid and uid that called listen()), never by what it says of itself.
 * - Windows: a named mutex in the `Global\` namespace (seen from every
 *   session), `Global\scriptmon-machine-<name>#<slot>`; Windows marks it
 *   abandoned and hands it to the next waiter when its owner dies.
 *
 * The attack considered: another local user binds the name (or creates the
 * mutex) first, to block the script or to make every agent believe it runs.
 * A name held by a process that is not a scriptmon agent (its command line)
 * is skipped: the agents move on to the next slot, all of them to the same
 * one, so a squatter neither blocks the script nor makes it run twice.
 * Whoever holds a slot is shown by uid and pid (Linux). What stays possible
 * is a user running a real agent (or a process dressed as one, argv and
 * all) that holds the claim: the claim then shows that user and pid in
 * `status`, which is where an operator looks. Windows cannot name a mutex's
 * owner; there the holder is "another agent of this machine".
 *
 * @module
 */
import type { Win32Mutexes } from "./_win32.ts";

export type { Win32Mutexes };

/** This Windows's mutex calls (kernel32 through FFI, opened on first use). */
export async function windowsMutexes(): Promise<Win32Mutexes> {
  const { FfiWin32 } = await import("./_win32.ts");
  return new FfiWin32();
}

/** This OS's machine claims; null on a Unix without abstract sockets (macOS). */
export async function systemMachineClaims(
  os: typeof Deno.build.os = Deno.build.os,
): Promise<MachineClaims | null> {
  if (os === "linux") return new LinuxMachineClaims();
  if (os === "windows") return new WindowsMachineClaims(await windowsMutexes());
  return null;
}

/** Who holds a machine claim, as the kernel tells it (Linux); null fields where it cannot. */
export interface ClaimHolder {
  pid: number | null;
  uid: number | null;
  user: string | null;
}

/** A claim this agent holds; `release()` gives it up (the OS does on exit anyway). */
export interface HeldClaim {
  readonly slot: number;
  /**
   * Answers other agents' requests on the claim (Linux: one line in, one line out per
   * connection, each line at most `MAX_REQUEST_BYTES`); without it connections are closed.
   */
  serve?(handler: (request: string) => string): void;
  /** Resolves once the claim is free for others. */
  release(): Promise<void>;
}

/** What one attempt found. */
export type ClaimAttempt =
  | { held: HeldClaim; squatters: ClaimHolder[] }
  | { held: null; holder: ClaimHolder | null; slot: number | null; squatters: ClaimHolder[] };

/** Machine-wide claims by name; see the module comment. */
export interface MachineClaims {
  /**
   * Takes the lowest free slot of `name` for this process unless an agent
   * holds a lower one; else says who holds it (this process included: a slot
   * it holds is reported as its own, or, on Windows, taken again). Squatters
   * are the non-agents skipped on the way.
   */
  claim(name: string): ClaimAttempt;
}

/** The longest request a claim's holder reads (`HeldClaim.serve`). */
export const MAX_REQUEST_BYTES = 1024;
/** How long a request to a claim's holder may take, connection to answer. */
const REQUEST_TIMEOUT_MS = 2000;

/** How many slots a squatter must fill to block a script: each one is a process it keeps. */
export const CLAIM_SLOTS = 8;

/** `<name>#<slot>`, with the name cut to fit a socket address (107 bytes) or a mutex name. */
export function claimName(name: string, slot: number): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64);
  return `${safe}#${slot}`;
}

/** Whether `argv` is a scriptmon agent's: its binary, the zip's bundle or a checkout's entry point. */
export function isAgentCommand(argv: readonly string[]): boolean {
  return argv.some((arg, i) =>
    (i === 0 && /(^|[\\/])scriptmon-agent(\.exe)?$/i.test(arg)) ||
    /(^|[\\/])(scriptmon-agent\.js|agent[\\/]main\.ts)$/.test(arg)
  );
}

// ---- Windows ----

/**
 * Claims as named mutexes in `Global\`. A slot whose mutex this user may not
 * open (created first by another user with a DACL that shuts others out) is
 * a squatter's; a slot owned by a live process is another agent's, whose pid
 * Windows does not tell.
 */
export class WindowsMachineClaims implements MachineClaims {
  #win32: Win32Mutexes;
  #prefix: string;

  constructor(win32: Win32Mutexes, options: { prefix?: string } = {}) {
    this.#win32 = win32;
    this.#prefix = options.prefix ?? "Global\\scriptmon-machine-";
  }

  claim(name: string): ClaimAttempt {
    const squatters: ClaimHolder[] = [];
    for (let slot = 0; slot < CLAIM_SLOTS; slot++) {
      const result = this.#win32.tryMutex(`${this.#prefix}${claimName(name, slot)}`);
      if (result.state === "owned") {
        const win32 = this.#win32;
        let released = false;
        return {
          held: {
            slot,
            release() {
              if (!released) win32.releaseMutex(result.handle);
              released = true;
              return Promise.resolve();
            },
          },
          squatters,
        };
      }
      if (result.state === "busy") {
        return { held: null, holder: { pid: null, uid: null, user: null }, slot, squatters };
      }
      squatters.push({ pid: null, uid: null, user: null });
    }
    return { held: null, holder: null, slot: null, squatters };
  }
}

// ---- Linux ----

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** The `sockaddr_un` of an abstract name and its length (family, the NUL, the name). */
export function abstractAddress(name: string): { address: Uint8Array; length: number } {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length > 106) throw new RangeError(`Abstract socket name too long: ${name}`);
  const address = new Uint8Array(110);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(bytes, 3);
  return { address, length: 3 + bytes.length };
}

/** Reads a passwd file's `name:x:uid:…` lines into uid → name. */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [name, , uid] = line.split(":");
    if (name && uid !== undefined && /^\d+$/.test(uid)) users.set(Number(uid), name);
  }
  return users;
}

/** Claims as abstract Unix sockets; see the module comment. */
export class LinuxMachineClaims implements MachineClaims {
  #prefix: string;
  #libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] | null | undefined;
  #procRoot: string;

  /** `prefix` keeps tests apart from real agents (default `scriptmon/machine/`). */
  constructor(options: { prefix?: string; procRoot?: string } = {}) {
    this.#prefix = options.prefix ?? "scriptmon/machine/";
    this.#procRoot = options.procRoot ?? "/proc";
  }

  claim(name: string): ClaimAttempt {
    const squatters: ClaimHolder[] = [];
    for (let slot = 0; slot < CLAIM_SLOTS; slot++) {
      const path = `\0${this.#prefix}${claimName(name, slot)}`;
      try {
        const listener = Deno.listen({ transport: "unix", path });
        return { held: new SocketClaim(listener, slot), squatters };
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      }
      const holder = this.#peer(path);
      if (holder === null) {
        // Bound but not listening: only a squatter's socket looks like that.
        squatters.push({ pid: null, uid: null, user: null });
        continue;
      }
      // Without SO_PEERCRED (no FFI) a listener cannot be told apart: taken for an agent.
      if (holder.pid === null || this.#isAgent(holder.pid)) {
        return { held: null, holder, slot, squatters };
      }
      squatters.push(holder);
    }
    return { held: null, holder: null, slot: null, squatters };
  }

  /** One request to the holder of slot `slot` of `name` (which `serve`s it); its answer. */
  async ask(name: string, slot: number, request: string): Promise<string> {
    const path = `\0${this.#prefix}${claimName(name, slot)}`;
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const conn = await Deno.connect({ transport: "unix", path });
    try {
      await conn.write(new TextEncoder().encode(`${request}\n`));
      const answer = await readLine(conn, timeout);
      if (answer === null) throw new Error(`no answer from the holder of ${claimName(name, slot)}`);
      return answer;
    } finally {
      conn.close();
    }
  }

  /** The listening process of an abstract name, from SO_PEERCRED; null when none listens. */
  #peer(path: string): ClaimHolder | null {
    const libc = this.#openLibc();
    if (libc === null) return { pid: null, uid: null, user: null };
    const fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return { pid: null, uid: null, user: null };
    try {
      const { address, length } = abstractAddress(path.slice(1));
      if (libc.connect(fd, address, length) !== 0) return null;
      const cred = new Uint8Array(12);
      const size = new Uint32Array([12]);
      if (libc.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, new Uint8Array(size.buffer)) !== 0) {
        return { pid: null, uid: null, user: null };
      }
      const view = new DataView(cred.buffer);
      const pid = view.getInt32(0, true);
      const uid = view.getUint32(4, true);
      return { pid: pid > 0 ? pid : null, uid, user: userName(uid) };
    } finally {
      libc.close(fd);
    }
  }

  /**
   * Whether the listener `pid` is an agent, by its command line. One this user cannot read
   * (/proc mounted with hidepid, or the process just ended) is taken for an agent: two agents
   * must never both run a script, a squatter left unseen only makes the script wait.
   */
  #isAgent(pid: number): boolean {
    if (pid === Deno.pid) return true;
    try {
      const cmdline = Deno.readTextFileSync(`${this.#procRoot}/${pid}/cmdline`);
      return isAgentCommand(cmdline.split("\0").filter((a) => a !== ""));
    } catch {
      return true;
    }
  }

  #openLibc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] | null {
    if (this.#libc === undefined) {
      try {
        this.#libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
      } catch {
        // No FFI permission or another libc: holders are then shown without pid and uid.
        this.#libc = null;
      }
    }
    return this.#libc;
  }
}

let passwd: Map<number, string> | undefined;

/** This process as a claim's holder: its pid, uid and user name (from passwd, else the env). */
export function thisHolder(): ClaimHolder {
  const uid = Deno.uid?.() ?? null;
  let user = uid === null || Deno.build.os === "windows" ? null : userName(uid);
  try {
    user ??= Deno.env.get("USER") ?? Deno.env.get("USERNAME") ?? null;
  } catch {
    // No env permission.
  }
  return { pid: Deno.pid, uid, user };
}

function userName(uid: number): string | null {
  try {
    passwd ??= parsePasswd(Deno.readTextFileSync("/etc/passwd"));
  } catch {
    passwd = new Map();
  }
  return passwd.get(uid) ?? null;
}

/** A held abstract socket: it accepts and closes connections (a peer learns who holds it from SO_PEERCRED). */
class SocketClaim implements HeldClaim {
  #listener: Deno.Listener;
  #closed = false;
  #accepting: Promise<void>;
  #handler: ((request: string) => string) | null = null;

  constructor(listener: Deno.Listener, readonly slot: number) {
    this.#listener = listener;
    this.#accepting = this.#accept();
  }

  serve(handler: (request: string) => string): void {
    this.#handler = handler;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#handler === null) conn.close();
        else void this.#answer(conn, this.#handler);
      }
    } catch {
      // Closed.
    }
  }

  async #answer(conn: Deno.Conn, handler: (request: string) => string): Promise<void> {
    try {
      const request = await readLine(conn, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
      if (request !== null) await conn.write(new TextEncoder().encode(`${handler(request)}\n`));
    } catch {
      // A peer that hung up or sent too much gets nothing.
    } finally {
      try {
        conn.close();
      } catch {
        // Closed by the peer already.
      }
    }
  }

  release(): Promise<void> {
    if (!this.#closed) this.#listener.close();
    this.#closed = true;
    // The socket closes when the pending accept gives it back.
    return this.#accepting;
  }
}

/** The first line `conn` sends (null when it ends first); throws past `MAX_REQUEST_BYTES` or at `signal`. */
async function readLine(conn: Deno.Conn, signal: AbortSignal): Promise<string | null> {
  const buffer = new Uint8Array(MAX_REQUEST_BYTES + 1);
  let length = 0;
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  while (length <= MAX_REQUEST_BYTES) {
    const n = await Promise.race([conn.read(buffer.subarray(length)), aborted]);
    if (n === null) return null;
    const end = buffer.subarray(length, length + n).indexOf(10);
    length += n;
    if (end !== -1) return new TextDecoder().decode(buffer.subarray(0, length - n + end));
  }
  throw new Error(`a request longer than ${MAX_REQUEST_BYTES} bytes`);
}

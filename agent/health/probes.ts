/**
 * HTTP, TCP and exec probes: one run gives a pass or a failure with its
 * reason; a `ProbeTracker` turns runs into a check that fails only after
 * `failures` failed runs in a row.
 */
import type {
  ResolvedExecProbe,
  ResolvedHttpProbe,
  ResolvedProbe,
  ResolvedTcpProbe,
} from "../../shared/agent_config/types.ts";
import { platform } from "../platform/mod.ts";
import type { CheckState, CheckStatus } from "./types.ts";
import { childEnv } from "../platform/child_env.ts";
import { formatDuration } from "../../shared/config/units.ts";
import { type HttpAnswer, httpGet, HttpProtocolError } from "./http_get.ts";

/** The outcome of one probe run. */
export interface ProbeResult {
  ok: boolean;
  /** Why, in words: `HTTP 500 (expected 200)`, `timed out after 2000 ms`. */
  reason: string;
  durationMs: number;
}

/** Options of `runProbe()`. */
export interface RunProbeOptions {
  /** Aborting stops the run (an exec probe's process tree is killed). */
  signal?: AbortSignal;
}

/** At most this much of an HTTP body is searched for `probe.body`. */
const BODY_LIMIT = 1024 * 1024;
/** The end of an exec probe's stderr kept for its reason. */
const STDERR_TAIL = 4096;
/** How long an exec probe's pipes may stay open after it exited (a leftover grandchild). */
const PIPE_GRACE_MS = 500;

/** Why a run stopped early: its own timeout or the caller's signal. */
class Stopped {
  timedOut = false;
  constructor(readonly timeoutMs: number) {}
  reason(): string {
    return this.timedOut ? `timed out after ${formatDuration(this.timeoutMs)}` : "aborted";
  }
}

/** Runs `probe` once, within `probe.timeoutMs`; never throws for a failed check. */
export async function runProbe(
  probe: ResolvedProbe,
  options: RunProbeOptions = {},
): Promise<ProbeResult> {
  const started = performance.now();
  const stopped = new Stopped(probe.timeoutMs);
  const stop = new AbortController();
  const timer = setTimeout(() => {
    stopped.timedOut = true;
    stop.abort(new DOMException("probe timed out", "TimeoutError"));
  }, probe.timeoutMs);
  // The caller's signal outlives many runs: followed by a listener removed after this one, not
  // AbortSignal.any(), whose weak links to it hold each run's signals until a full collection.
  const caller = options.signal;
  const follow = () => stop.abort(caller?.reason);
  if (caller?.aborted) follow();
  else caller?.addEventListener("abort", follow, { once: true });
  const signal = stop.signal;
  try {
    const outcome = signal.aborted
      ? { ok: false, reason: stopped.reason() }
      : probe.kind === "http"
      ? await runHttp(probe, signal, stopped)
      : probe.kind === "tcp"
      ? await runTcp(probe, signal, stopped)
      : await runExec(probe, signal, stopped);
    return { ...outcome, durationMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
    caller?.removeEventListener("abort", follow);
  }
}

type Outcome = { ok: boolean; reason: string };

/** How many redirects a probe follows, as `fetch` does. */
const MAX_REDIRECTS = 20;

/**
 * An HTTP probe: `http://` URLs through `httpGet` (a connection of its own, see why there),
 * following redirects as `fetch` would; `https://`, a URL with credentials or an agent behind
 * a proxy (`HTTP_PROXY`, which `fetch` honours with `NO_PROXY`) through `fetch`.
 */
async function runHttp(
  probe: ResolvedHttpProbe,
  signal: AbortSignal,
  stopped: Stopped,
): Promise<Outcome> {
  let url = new URL(probe.url);
  let method = probe.method;
  for (let redirects = 0;; redirects++) {
    if (url.protocol !== "http:" || url.username !== "" || url.password !== "" || proxied()) {
      return await runFetch({ ...probe, url: url.href, method }, signal, stopped);
    }
    let answer: HttpAnswer;
    try {
      answer = await httpGet(url, { method, find: probe.body, bodyLimit: BODY_LIMIT, signal });
    } catch (error) {
      return { ok: false, reason: signal.aborted ? stopped.reason() : httpFailure(error) };
    }
    if (REDIRECTS.has(answer.status) && answer.location !== null) {
      if (redirects === MAX_REDIRECTS) {
        return { ok: false, reason: `more than ${MAX_REDIRECTS} redirects` };
      }
      try {
        url = new URL(answer.location, url);
      } catch {
        return { ok: false, reason: `bad redirect to ${JSON.stringify(answer.location)}` };
      }
      // As fetch: a 303 becomes a GET, and so does a POST redirected by 301 or 302.
      if (answer.status === 303 || (method === "POST" && answer.status <= 302)) method = "GET";
      continue;
    }
    return judge(probe, answer.status, () => answer.text);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

let proxySet: boolean | undefined;
/** Whether the agent's environment sends plain HTTP through a proxy. */
function proxied(): boolean {
  proxySet ??= ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    .some((name) => (Deno.env.get(name) ?? "") !== "");
  return proxySet;
}

/** The status against the expected one, then the body against the expected text. */
async function judge(
  probe: ResolvedHttpProbe,
  status: number,
  body: () => string | Promise<string>,
): Promise<Outcome> {
  if (status !== probe.status) {
    return { ok: false, reason: `HTTP ${status} (expected ${probe.status})` };
  }
  if (probe.body === undefined || probe.method === "HEAD") {
    return { ok: true, reason: `HTTP ${status}` };
  }
  return (await body()).includes(probe.body)
    ? { ok: true, reason: `HTTP ${status}` }
    : { ok: false, reason: `body does not contain ${JSON.stringify(probe.body)}` };
}

async function runFetch(
  probe: ResolvedHttpProbe,
  signal: AbortSignal,
  stopped: Stopped,
): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(probe.url, { method: probe.method, signal });
  } catch (error) {
    return { ok: false, reason: signal.aborted ? stopped.reason() : httpFailure(error) };
  }
  try {
    return await judge(probe, response.status, () => readText(response, probe.body ?? ""));
  } catch (error) {
    return {
      ok: false,
      reason: signal.aborted ? stopped.reason() : `reading the body failed: ${messageOf(error)}`,
    };
  } finally {
    // A body left unread keeps the connection (and the test's resource sanitizer) busy.
    await response.body?.cancel().catch(() => {});
  }
}

/** The body as text, up to BODY_LIMIT bytes or until it contains `needle`. */
async function readText(response: Response, needle: string): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (text.length < BODY_LIMIT && !text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

/**
 * `connection refused`, `cannot resolve the host`, `connection reset`, what was wrong with the
 * response, or the innermost message of the error.
 */
function httpFailure(error: unknown): string {
  if (error instanceof HttpProtocolError) return `bad HTTP response: ${error.message}`;
  const messages: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    messages.push(e.message);
  }
  const all = messages.join(" ");
  if (error instanceof Deno.errors.ConnectionRefused || /connection refused/i.test(all)) {
    return "connection refused";
  }
  if (/dns error|failed to lookup/i.test(all)) return "cannot resolve the host";
  if (error instanceof Deno.errors.ConnectionReset || /connection reset/i.test(all)) {
    return "connection reset";
  }
  return `request failed: ${messages[messages.length - 1] ?? String(error)}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function runTcp(
  probe: ResolvedTcpProbe,
  signal: AbortSignal,
  stopped: Stopped,
): Promise<Outcome> {
  const address = `${probe.host}:${probe.port}`;
  try {
    const conn = await Deno.connect({ hostname: probe.host, port: probe.port, signal });
    conn.close();
    return { ok: true, reason: `connected to ${address}` };
  } catch (error) {
    if (signal.aborted) return { ok: false, reason: stopped.reason() };
    if (error instanceof Deno.errors.ConnectionRefused) {
      return { ok: false, reason: "connection refused" };
    }
    return { ok: false, reason: `cannot connect to ${address}: ${messageOf(error)}` };
  }
}

async function runExec(
  probe: ResolvedExecProbe,
  signal: AbortSignal,
  stopped: Stopped,
): Promise<Outcome> {
  const [program, ...args] = probe.command;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      cwd: probe.cwd,
      clearEnv: true,
      env: childEnv(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Its own process group, so a timeout kills what it started too.
      detached: true,
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { ok: false, reason: `command "${program}" not found (cwd "${probe.cwd}")` };
    }
    return { ok: false, reason: `cannot start "${program}": ${messageOf(error)}` };
  }
  const stdout = child.stdout.getReader();
  const stderr = child.stderr.getReader();
  const drained = Promise.all([drain(stdout), tail(stderr)]);
  let killed: Promise<void> = Promise.resolve();
  const kill = () => {
    // Before `status` settles the pid is still ours (at worst a zombie), so this cannot hit another process.
    killed = platform.killTree(child.pid).catch(() => {});
  };
  if (signal.aborted) kill();
  else signal.addEventListener("abort", kill, { once: true });
  const status = await child.status;
  signal.removeEventListener("abort", kill);
  await killed;
  let grace: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    drained.then(() => true),
    new Promise<false>((resolve) => grace = setTimeout(() => resolve(false), PIPE_GRACE_MS)),
  ]);
  clearTimeout(grace);
  if (!closed) {
    // A grandchild outside the group still holds the pipes: stop reading.
    await Promise.all([stdout.cancel(), stderr.cancel()]).catch(() => {});
  }
  const lastLine = (await drained)[1].trimEnd().split(/\r?\n/).pop()?.trim() ?? "";
  if (signal.aborted) return { ok: false, reason: stopped.reason() };
  if (status.success) return { ok: true, reason: "exit code 0" };
  const how = status.signal === null ? `exit code ${status.code}` : `killed by ${status.signal}`;
  return { ok: false, reason: lastLine === "" ? how : `${how}: ${lastLine}` };
}

/** Reads a stream to its end, discarding it. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // Cancelled or broken: nothing more to read.
  }
}

/** The last STDERR_TAIL bytes of a stream, decoded. */
async function tail(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let kept = new Uint8Array(0);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const joined = new Uint8Array(kept.length + value.length);
      joined.set(kept);
      joined.set(value, kept.length);
      kept = joined.slice(Math.max(0, joined.length - STDERR_TAIL));
    }
  } catch {
    // Cancelled or broken: keep what was read.
  }
  return new TextDecoder().decode(kept);
}

/** Options of `ProbeTracker`. */
export interface ProbeTrackerOptions {
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

/**
 * The check `probe:<name>` of one probe: `unknown` before the first result,
 * `failing` once `probe.failures` runs in a row failed, `ok` again on the
 * first pass. Its value is the last run's duration and its threshold the
 * timeout, both in milliseconds.
 */
export class ProbeTracker {
  #probe: ResolvedProbe;
  #state: CheckState;

  constructor(probe: ResolvedProbe, options: ProbeTrackerOptions = {}) {
    this.#probe = probe;
    this.#state = {
      intervalMs: probe.intervalMs,
      name: `probe:${probe.name}`,
      status: "unknown",
      reason: "not run yet",
      threshold: probe.timeoutMs,
      since: new Date((options.now ?? Date.now)()).toISOString(),
      checkedAt: null,
      consecutiveFailures: 0,
      failuresTotal: 0,
    };
  }

  /** The current state. */
  get state(): CheckState {
    return this.#state;
  }

  /** One run's result at `atMs`; `changed` when the status moved. */
  record(result: ProbeResult, atMs: number): { state: CheckState; changed: boolean } {
    const previous = this.#state;
    const failures = result.ok ? 0 : previous.consecutiveFailures + 1;
    const limit = this.#probe.failures;
    const status: CheckStatus = result.ok ? "ok" : failures >= limit ? "failing" : previous.status;
    const reason = result.ok || failures >= limit
      ? result.reason
      : `${result.reason} (${failures} of ${limit} failures)`;
    const changed = status !== previous.status;
    const at = new Date(atMs).toISOString();
    this.#state = {
      ...previous,
      intervalMs: this.#nextInterval(result.ok, failures),
      status,
      reason,
      value: result.durationMs,
      since: changed ? at : previous.since,
      checkedAt: at,
      consecutiveFailures: failures,
      failuresTotal: previous.failuresTotal + (changed && status === "failing" ? 1 : 0),
    };
    return { state: this.#state, changed };
  }

  /** How long to wait before the next run (read it from `state.intervalMs`). */
  get intervalMs(): number {
    return this.#state.intervalMs ?? this.#probe.intervalMs;
  }

  /**
   * The wait after a run: `min_interval` while the result is unsettled (a failure not yet
   * confirmed, the first pass after a failure), the written interval once a failure is
   * confirmed (a service that is down is not hammered), the interval after the first pass,
   * and while passes follow passes, doubling from the interval up to `max_interval`.
   */
  #nextInterval(ok: boolean, failures: number): number {
    const { intervalMs, minIntervalMs, maxIntervalMs } = this.#probe;
    const previous = this.#state;
    if (!ok) return failures >= this.#probe.failures ? intervalMs : minIntervalMs;
    if (previous.consecutiveFailures > 0) return minIntervalMs;
    if (previous.status === "unknown") return intervalMs;
    const current = previous.intervalMs ?? intervalMs;
    return current < intervalMs ? intervalMs : Math.min(maxIntervalMs, current * 2);
  }
}

/**
 * The agent's link to the collector (`[collector]`): every
 * `heartbeat_interval`, and soon after new events, it posts an ingest (who
 * the agent is, its scripts, the next unacked events in seq order, the
 * results of remote commands) and remembers the seq the collector acked. A
 * failed post is retried with backoff while the events wait in the
 * {@linkcode Spool}; after an outage full batches follow each other at once,
 * so the collector catches up quickly and in order. Remote commands arrive in
 * the ingest answers and, faster, through a long-poll kept open while the
 * collector is reachable; each runs at most once.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { z } from "zod";
import {
  AGENT_FEATURES_HEADER,
  type Command,
  type CommandAck,
  commandSchema,
  type IngestRequestInput,
  type IngestResponse,
  ingestResponseSchema,
  PROTOCOL_VERSION,
  type WireEvent,
} from "../../shared/protocol.ts";
import type { AgentInfo, CollectorLinkStatus } from "../local_api/status.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { ResolvedCollectorLink } from "../config/types.ts";
import type { EventLog } from "../supervise/event_log.ts";
import { cut, fitIngest, toScriptSummary, toTokenSummary } from "./ingest_body.ts";
import { readLogsAnswer } from "../logs/request.ts";
import { redact } from "../../shared/redact.ts";
import { Spool } from "./spool.ts";
import type { Supervisor } from "../supervise/supervisor.ts";
import type { TokenStatus } from "../tokens/types.ts";

/** What the link needs from the agent. */
export interface CollectorLinkDeps {
  config: ResolvedCollectorLink;
  kv: Deno.Kv;
  events: EventLog;
  supervisor: Supervisor;
  info: () => AgentInfo;
  /** The tokens' status, sent (without values) with every heartbeat. */
  tokens?: () => TokenStatus[];
  /** Default the global fetch. */
  fetch?: typeof fetch;
  clock?: Clock;
  /** In [0, 1), like Math.random (the default): spreads the retry delays. */
  random?: () => number;
}

/** What a long-poll answers (the protocol leaves the body open: `commands` is read). */
const commandsAnswerSchema = z.object({ commands: z.array(commandSchema) });

/** A command carried out (or refused), kept a day so that it is never done twice. */
interface DoneRecord {
  /** Null while it runs: an agent that stopped meanwhile does not run it again. */
  ack: CommandAck | null;
}

/** How a failed request is retried. */
type Failure = "unreachable" | "auth" | "rejected";

const log = getLogger(["scriptmon", "collector"]);
const DONE_PREFIX = ["link", "done"];
const DAY_MS = 86_400_000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15_000;
const RETRY_JITTER = 0.2;
/** A refused token is tried again this often. */
const AUTH_RETRY_MS = 60_000;
/** Events arriving together go out together: the link waits this long after the first. */
const COALESCE_MS = 100;
/** The long-poll's `wait`. */
const LONG_POLL_MS = 25_000;
/** Acks per ingest (the protocol's bound). */
const MAX_ACKS = 100;
/** Bytes of acks per ingest (log lines are large): the rest go with the next one, at once. */
const MAX_ACK_BYTES = 512 * 1024;
/** What this agent understands beyond version 1's commands (the collector asks before sending). */
const FEATURES = "logs";

/** The agent's link to the collector; see the module comment. */
export class CollectorLink {
  #deps: CollectorLinkDeps;
  #config: ResolvedCollectorLink;
  #fetch: typeof fetch;
  #clock: Clock;
  #random: () => number;
  #spool: Spool | null = null;
  #stop = new AbortController();
  #wake = new AbortController();
  /** What the idle wait may be woken for: new events (when connected), a trim (always). */
  #idle: "events" | "backoff" | null = null;
  #poked = false;
  #trimWanted = false;
  #loops: Promise<void>[] = [];
  #unsubscribe: (() => void) | null = null;
  #state: "unknown" | "up" | Failure = "unknown";
  #failures = 0;
  #lastOkAt: string | null = null;
  #lastError: string | null = null;
  #acks: CommandAck[] = [];
  /** A command just finished: its ack goes out at once. */
  #freshAck = false;
  /** Commands queued or running in this process. */
  #running = new Set<string>();
  #commands: Promise<void> = Promise.resolve();
  /** `logs` commands being answered (read-only: beside the queue, not in it). */
  #reads = new Set<Promise<void>>();
  #whenConnected = Promise.withResolvers<void>();

  constructor(deps: CollectorLinkDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#fetch = deps.fetch ?? fetch;
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
  }

  /** The seq up to which the collector has every event (0 before `start()`). */
  get ackedSeq(): number {
    return this.#spool?.ackedSeq ?? 0;
  }

  /** Reads the acked seq from KV and starts sending and listening for commands. */
  async start(): Promise<void> {
    if (this.#spool) return;
    const { kv, events } = this.#deps;
    this.#spool = await Spool.open({ kv, events, limit: this.#config.spoolLimit });
    this.#unsubscribe = events.subscribe(() => this.#onEvent());
    this.#loops.push(this.#run(), this.#poll());
  }

  /** For the local status API. */
  status(): CollectorLinkStatus {
    return {
      url: this.#config.url,
      connected: this.#state === "up",
      lastOkAt: this.#lastOkAt,
      lastError: this.#lastError,
      ackedSeq: this.ackedSeq,
      pending: this.#spool?.pending ?? 0,
      dropped: this.#spool?.dropped ?? 0,
    };
  }

  /** Stops sending (aborting a request in flight) and waits for a running command. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wake.abort();
    this.#whenConnected.resolve();
    this.#unsubscribe?.();
    await Promise.all(this.#loops);
    await this.#commands;
    await Promise.all(this.#reads);
  }

  #onEvent(): void {
    this.#poked = true;
    if (this.#spool?.needsTrim()) this.#trimWanted = true;
    if (this.#idle === "events" || this.#trimWanted) this.#wake.abort();
  }

  /** Wakes an idle wait for new events (a command's ack is ready). */
  #poke(): void {
    this.#poked = true;
    if (this.#idle === "events") this.#wake.abort();
  }

  // --- ingest ----------------------------------------------------------

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      try {
        if (this.#trimWanted || this.#spool!.needsTrim()) await this.#trim();
        this.#poked = false;
        const result = await this.#ingest();
        if (stop.aborted) break;
        if (result.ok && result.more) continue;
        const waitMs = result.ok ? this.#config.heartbeatIntervalMs : result.retryMs;
        await this.#idleFor(waitMs, result.ok ? "events" : "backoff");
      } catch (error) {
        // A bug must not end the link: it tries again later.
        log.error("Collector link failed: {error}", { error });
        await this.#clock.sleep(RETRY_MAX_MS, stop);
      }
    }
  }

  /** Waits `ms`; trims when asked; with "events", new events end the wait (coalesced). */
  async #idleFor(ms: number, mode: "events" | "backoff"): Promise<void> {
    const stop = this.#stop.signal;
    const deadline = this.#clock.now() + ms;
    this.#idle = mode;
    try {
      while (!stop.aborted) {
        if (this.#trimWanted) await this.#trim();
        if (mode === "events" && this.#poked) {
          await this.#clock.sleep(COALESCE_MS, stop);
          return;
        }
        const left = deadline - this.#clock.now();
        if (left <= 0) return;
        this.#wake = new AbortController();
        await this.#clock.sleep(left, AbortSignal.any([stop, this.#wake.signal]));
      }
    } finally {
      this.#idle = null;
    }
  }

  async #trim(): Promise<void> {
    this.#trimWanted = false;
    const spool = this.#spool!;
    try {
      const { before, dropped, after } = await spool.trim();
      const limit = this.#config.spoolLimit;
      if (dropped > 0) {
        log.warn(
          "Spool over spool_limit ({limit}): dropped the {dropped} oldest resource samples " +
            "of {before} unsent events ({total} dropped since start)",
          { limit, dropped, before, total: spool.dropped },
        );
      }
      if (after > limit) {
        log.warn(
          "Spool holds {after} unsent events, over spool_limit ({limit}), " +
            "and none is a resource sample that could be dropped",
          { after, limit },
        );
      }
    } catch (error) {
      log.error("Cannot trim the collector spool: {error}", { error });
    }
  }

  /** One ingest: `more` when another batch is waiting. */
  async #ingest(): Promise<{ ok: true; more: boolean } | { ok: false; retryMs: number }> {
    const spool = this.#spool!;
    const { events, supervisor, info } = this.#deps;
    let body: string;
    let sent: WireEvent[];
    let available: WireEvent[];
    let acks: CommandAck[];
    try {
      const { batchSize } = this.#config;
      available = await spool.nextBatch(batchSize);
      acks = withinBudget(this.#acks.slice(0, MAX_ACKS));
      this.#freshAck = false;
      const agent = this.#identity(info());
      const dropped = spool.dropped;
      const tokens = (this.#deps.tokens?.() ?? []).slice(0, 100).map(toTokenSummary);
      const fitted = fitIngest(
        (scripts, list) => ({
          protocol: PROTOCOL_VERSION,
          agent,
          scripts,
          events: list,
          acks,
          dropped,
          // Also when empty: the collector forgets tokens taken out of the config.
          tokens,
        }),
        supervisor.status().slice(0, 1000).map(toScriptSummary),
        available,
      );
      body = fitted.body;
      sent = fitted.sent;
    } catch (error) {
      log.error("Cannot read the collector spool: {error}", { error });
      return { ok: false, retryMs: RETRY_MAX_MS };
    }

    let answer: IngestResponse;
    try {
      answer = await this.#request("api/v1/ingest", { method: "POST", body }, async (res) => {
        if (!res.ok) throw await httpFailure(res);
        const parsed = ingestResponseSchema.safeParse(await res.json());
        if (!parsed.success) {
          throw new LinkError(
            "rejected",
            `invalid ingest answer: ${z.prettifyError(parsed.error)}`,
          );
        }
        return parsed.data;
      });
    } catch (error) {
      if (this.#stop.signal.aborted) return { ok: false, retryMs: 0 };
      return { ok: false, retryMs: this.#failed(error) };
    }

    const before = spool.ackedSeq;
    if (answer.ackedSeq > events.lastSeq) {
      log.warn(
        "The collector has events of this agent up to seq {seq}, past this agent's last " +
          "({last}): its data folder was reset? Numbering continues after {seq}",
        { seq: answer.ackedSeq, last: events.lastSeq },
      );
      events.continueAfter(answer.ackedSeq);
    }
    if (answer.ackedSeq !== before) {
      try {
        await spool.ack(answer.ackedSeq);
      } catch (error) {
        log.error("Cannot store the acked seq {seq}: {error}", { seq: answer.ackedSeq, error });
      }
    }
    this.#acks = this.#acks.filter((ack) => !acks.includes(ack));
    this.#succeeded();
    this.#handle(answer.commands);
    const advanced = answer.ackedSeq > before;
    const more = advanced &&
      (available.length === this.#config.batchSize || sent.length < available.length);
    return { ok: true, more: more || this.#freshAck || this.#acks.length > 0 };
  }

  #identity(info: AgentInfo): IngestRequestInput["agent"] {
    return {
      site: info.site,
      host: info.host,
      version: info.version,
      os: Deno.build.os,
      pid: info.pid,
      startedAt: info.startedAt,
      now: new Date(this.#clock.now()).toISOString(),
    };
  }

  #succeeded(): void {
    if (this.#state !== "up") {
      if (this.#state === "unknown") {
        log.info("Connected to the collector {url}", { url: this.#config.url });
      } else {
        log.info("The collector {url} is reachable again after {attempts} failed attempt(s)", {
          url: this.#config.url,
          attempts: this.#failures,
        });
      }
    }
    this.#state = "up";
    this.#failures = 0;
    this.#lastOkAt = new Date(this.#clock.now()).toISOString();
    this.#lastError = null;
    this.#whenConnected.resolve();
  }

  /** Records a failed ingest, logging when the kind of failure changes; returns the retry delay. */
  #failed(error: unknown): number {
    const failure = error instanceof LinkError ? error.failure : "unreachable";
    // The collector's answer may quote what it was sent (the token): never kept or shown.
    const message = redact(errorText(error));
    if (this.#state === "up") this.#whenConnected = Promise.withResolvers<void>();
    this.#failures++;
    this.#lastError = message;
    const values = { url: this.#config.url, error: message };
    if (this.#state !== failure) {
      if (failure === "auth") {
        log.error(
          "The collector {url} refused the agent's token ({error}): check collector.token; " +
            "retrying every minute",
          values,
        );
      } else if (failure === "rejected") {
        log.error(
          "The collector {url} rejected the ingest: {error}; retrying with backoff",
          values,
        );
      } else {
        log.warn(
          "The collector {url} is unreachable ({error}); retrying with backoff, " +
            "events are kept until it acks them",
          values,
        );
      }
    }
    this.#state = failure;
    return failure === "auth" ? AUTH_RETRY_MS : this.#retryDelay(this.#failures);
  }

  #retryDelay(failures: number): number {
    const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 16));
    const spread = 1 + RETRY_JITTER * (2 * this.#random() - 1);
    return Math.round(Math.min(RETRY_MAX_MS, base * spread));
  }

  /** One request to the collector within `timeout` (plus `extraMs`); `read` handles the answer. */
  async #request<T>(
    path: string,
    init: RequestInit,
    read: (res: Response) => Promise<T>,
    extraMs = 0,
  ): Promise<T> {
    const timeoutMs = this.#config.timeoutMs + extraMs;
    const abort = new AbortController();
    const done = new AbortController();
    const stop = this.#stop.signal;
    const onStop = () => abort.abort(stop.reason);
    stop.addEventListener("abort", onStop, { once: true });
    this.#clock.sleep(timeoutMs, done.signal).then(() => {
      if (!done.signal.aborted) abort.abort(new LinkError("unreachable", "timed out"));
    });
    try {
      const res = await this.#fetch(new URL(path, this.#config.url), {
        ...init,
        headers: {
          authorization: `Bearer ${this.#config.token}`,
          [AGENT_FEATURES_HEADER]: FEATURES,
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        },
        signal: abort.signal,
      });
      return await read(res);
    } catch (error) {
      if (abort.signal.reason instanceof LinkError && !stop.aborted) {
        throw new LinkError("unreachable", `no answer within ${timeoutMs} ms`, { cause: error });
      }
      throw error;
    } finally {
      done.abort();
      stop.removeEventListener("abort", onStop);
    }
  }

  // --- commands --------------------------------------------------------

  async #poll(): Promise<void> {
    const stop = this.#stop.signal;
    let failures = 0;
    while (!stop.aborted) {
      if (this.#state !== "up") {
        await this.#whenConnected.promise;
        continue;
      }
      const startedAt = this.#clock.now();
      try {
        const commands = await this.#request(
          `api/v1/commands?wait=${LONG_POLL_MS}`,
          { method: "GET" },
          async (res) => {
            if (!res.ok) throw await httpFailure(res);
            return commandsAnswerSchema.parse(await res.json()).commands;
          },
          LONG_POLL_MS,
        );
        failures = 0;
        this.#handle(commands);
        // A collector that answers at once must not make this a busy loop.
        if (commands.length === 0 && this.#clock.now() - startedAt < RETRY_MIN_MS) {
          await this.#clock.sleep(this.#config.heartbeatIntervalMs, stop);
        }
      } catch (error) {
        if (stop.aborted) break;
        failures++;
        log.debug("Command long-poll failed: {error}", { error });
        await this.#clock.sleep(this.#retryDelay(failures), stop);
      }
    }
  }

  /** Queues each command not already queued or running. */
  #handle(commands: Command[]): void {
    for (const command of commands) {
      if (this.#running.has(command.id) || this.#stop.signal.aborted) continue;
      this.#running.add(command.id);
      if (command.action === "logs") {
        // Read-only and quick: answered at once, not behind a restart in the queue.
        const read: Promise<void> = this.#answerLogs(command)
          .catch((error) => log.error("Command {id} failed: {error}", { id: command.id, error }))
          .finally(() => {
            this.#running.delete(command.id);
            this.#reads.delete(read);
          });
        this.#reads.add(read);
        continue;
      }
      this.#commands = this.#commands
        .then(() => this.#execute(command))
        .catch((error) => log.error("Command {id} failed: {error}", { id: command.id, error }))
        .finally(() => this.#running.delete(command.id));
    }
  }

  async #execute(command: Command): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const { kv, supervisor } = this.#deps;
    const key = [...DONE_PREFIX, command.id];
    const done = (await kv.get<DoneRecord>(key)).value;
    if (done) {
      // Done before: its answer again with the next ingest (the collector may not have it),
      // never a second run.
      const ack = done.ack ?? this.#ack(command, false, "the agent stopped while carrying it out");
      if (!this.#acks.some((a) => a.id === ack.id)) this.#acks.push(ack);
      return;
    }
    let ack: CommandAck;
    const what = `${command.action} ${command.script}`;
    if (Date.parse(command.expiresAt) <= this.#clock.now()) {
      ack = this.#ack(command, false, `not carried out: expired at ${command.expiresAt}`);
    } else if (!supervisor.runners().some((r) => r.name === command.script)) {
      const known = supervisor.runners().map((r) => r.name).join(", ") || "none";
      ack = this.#ack(
        command,
        false,
        `not carried out: no script named "${command.script}" (known: ${known})`,
      );
    } else {
      await kv.set(key, { ack: null } satisfies DoneRecord, { expireIn: DAY_MS });
      log.info("Remote command {what} from {by} ({id})", {
        what,
        by: command.requestedBy,
        id: command.id,
      });
      try {
        const runner = supervisor.get(command.script);
        if (command.action === "start") await runner.start();
        else if (command.action === "stop") {
          await runner.stop(`stopped by a remote command from ${command.requestedBy}`);
        } else await runner.restart();
        ack = this.#ack(command, true, `${what}: done, now ${runner.state}`);
      } catch (error) {
        ack = this.#ack(command, false, `${what} failed: ${errorText(error)}`);
      }
    }
    await kv.set(key, { ack } satisfies DoneRecord, { expireIn: DAY_MS });
    this.#queueAck(ack);
  }

  /** Answers a `logs` command with the lines of the script's log; nothing is recorded. */
  async #answerLogs(command: Command): Promise<void> {
    const { supervisor } = this.#deps;
    const runner = supervisor.runners().find((r) => r.name === command.script);
    if (Date.parse(command.expiresAt) <= this.#clock.now()) {
      this.#queueAck(this.#ack(command, false, `not read: expired at ${command.expiresAt}`));
      return;
    }
    if (runner === undefined) {
      const known = supervisor.runners().map((r) => r.name).join(", ") || "none";
      this.#queueAck(
        this.#ack(
          command,
          false,
          `not read: no script named "${command.script}" (known: ${known})`,
        ),
      );
      return;
    }
    const params = command.params ?? { lines: 100 };
    let ack: CommandAck;
    try {
      const logs = await readLogsAnswer(runner.logPath, params);
      ack = {
        ...this.#ack(command, true, `${logs.lines.length} line(s) of ${command.script}'s log`),
        logs,
      };
    } catch (error) {
      ack = this.#ack(
        command,
        false,
        `cannot read the log of ${command.script}: ${errorText(error)}`,
      );
    }
    log.debug("Answered logs command {id} from {by}", { id: command.id, by: command.requestedBy });
    this.#queueAck(ack);
  }

  #ack(command: Command, ok: boolean, message: string): CommandAck {
    return {
      id: command.id,
      ok,
      message: cut(message),
      at: new Date(this.#clock.now()).toISOString(),
    };
  }

  #queueAck(ack: CommandAck): void {
    if (!this.#acks.some((a) => a.id === ack.id)) this.#acks.push(ack);
    this.#freshAck = true;
    this.#poke();
  }
}

/** A failed request, with how it is retried. */
class LinkError extends Error {
  override name = "LinkError";
  readonly failure: Failure;

  constructor(failure: Failure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.failure = failure;
  }
}

/** The first acks whose JSON fits in {@linkcode MAX_ACK_BYTES} (at least one). */
function withinBudget(acks: CommandAck[]): CommandAck[] {
  const encoder = new TextEncoder();
  let bytes = 0;
  for (let i = 0; i < acks.length; i++) {
    bytes += encoder.encode(JSON.stringify(acks[i])).length;
    if (bytes > MAX_ACK_BYTES && i > 0) return acks.slice(0, i);
  }
  return acks;
}

async function httpFailure(res: Response): Promise<LinkError> {
  const text = (await res.text().catch(() => "")).trim().slice(0, 200);
  const status = `HTTP ${res.status}${text ? `: ${text}` : ""}`;
  if (res.status === 401 || res.status === 403) return new LinkError("auth", status);
  // Overloaded or down: as unreachable. Any other answer is a request it will not take.
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    return new LinkError("unreachable", status);
  }
  return new LinkError("rejected", status);
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

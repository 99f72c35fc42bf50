/**
 * The agent's link to the collector (`[collector]`): every
 * `heartbeat_interval`, and soon after new events, it posts an ingest (who
 * the agent is, its scripts, the next unacked events in seq order, the
 * results of remote commands) and remembers the seq the collector acked. A
 * failed post is retried with backoff while the events wait in the
 * {@linkcode Spool}; after an outage full batches follow each other at once,
 * so the collector catches up quickly and in order. Remote commands arrive in
 * the ingest answers and, faster, through a long-poll kept open while the
 * collector is reachable; each runs at most once ({@linkcode RemoteCommands}).
 *
 * @module
 */
import { collectorEndpoints } from "./endpoints.ts";
import { getLogger } from "@logtape/logtape";
import { z } from "zod";
import {
  AGENT_FEATURES_HEADER,
  type CentralConfigState,
  type CentralConfigWire,
  COLLECTOR_FEATURES_HEADER,
  type CommandAck,
  type IngestRequestInput,
  type IngestResponse,
  ingestResponseSchema,
  PROTOCOL_VERSION,
  type WireEvent,
} from "../../shared/protocol.ts";
import type { AgentInfo, CollectorLinkStatus } from "../local_api/status.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { ResolvedCollectorLink } from "../../shared/agent_config/types.ts";
import type { EventLog } from "../supervise/event_log.ts";
import {
  errorText,
  fitIngest,
  toScriptSummary,
  toTokenSummary,
  withoutExtras,
} from "./ingest_body.ts";
import { redact } from "../../shared/redact.ts";
import { RemoteCommands } from "./remote_commands.ts";
import { Spool } from "./spool.ts";
import type { Supervisor } from "../supervise/supervisor.ts";
import type { TokenStatus } from "../tokens/types.ts";
import { formatDuration } from "../../shared/config/units.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** What the link needs from the agent. */
export interface CollectorLinkDeps {
  config: ResolvedCollectorLink;
  kv: KvHandle;
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
  /** The central config: reported with each ingest, a new version from an answer offered to it. */
  central?: {
    state(): CentralConfigState;
    offer(config: CentralConfigWire): void;
  };
}

/** How a failed request is retried. */
type Failure = "unreachable" | "auth" | "rejected";

const log = getLogger(["scriptmon", "collector"]);
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15_000;
const RETRY_JITTER = 0.2;
/** A refused token is tried again this often. */
const AUTH_RETRY_MS = 60_000;
/** Events arriving together go out together: the link waits this long after the first. */
const COALESCE_MS = 100;
/**
 * What this agent understands beyond version 1's (the collector asks before sending): `logs`
 * commands, and `central-config` versions in ingest answers (with a central config holder).
 */
const FEATURES = "logs";
const FEATURES_WITH_CENTRAL = "logs,central-config";

/** The agent's link to the collector; see the module comment. */
export class CollectorLink {
  #deps: CollectorLinkDeps;
  #config: ResolvedCollectorLink;
  #fetch: typeof fetch;
  #clock: Clock;
  #random: () => number;
  #spool: Spool | null = null;
  /** The collector said it takes a summary's newer keys (`script-extras`); until then, not sent. */
  #extras = false;
  /** The collector said it takes an ingest's `config` (`central-config`); until then, not sent. */
  #centralOk = false;
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
  /** The long-poll, the commands it and the ingest answers bring, and their acks. */
  #commands: RemoteCommands;
  #whenConnected = Promise.withResolvers<void>();

  constructor(deps: CollectorLinkDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#fetch = deps.fetch ?? fetch;
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
    this.#commands = new RemoteCommands({
      kv: deps.kv,
      supervisor: deps.supervisor,
      clock: this.#clock,
      signal: this.#stop.signal,
      heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
      request: (path, init, read, extraMs) => this.#request(path, init, read, extraMs),
      isUp: () => this.#state === "up",
      whenUp: () => this.#whenConnected.promise,
      retryDelay: (failures) => this.#retryDelay(failures),
      onAck: () => this.#poke(),
    });
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
    this.#loops.push(this.#run(), this.#commands.poll());
  }

  /** For the local status API. */
  status(): CollectorLinkStatus {
    return {
      url: collectorEndpoints(this.#config).current,
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
    await this.#commands.close();
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
    const { events, supervisor, info, central } = this.#deps;
    let body: string;
    let sent: WireEvent[];
    let available: WireEvent[];
    let acks: CommandAck[];
    try {
      const { batchSize } = this.#config;
      available = await spool.nextBatch(batchSize);
      acks = this.#commands.nextAcks();
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
          ...(central !== undefined && this.#centralOk ? { config: central.state() } : {}),
        }),
        supervisor.status().slice(0, 1000).map((status) => {
          const summary = toScriptSummary(status);
          return this.#extras ? summary : withoutExtras(summary);
        }),
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
    this.#commands.delivered(acks);
    this.#succeeded();
    this.#commands.handle(answer.commands);
    if (answer.config !== undefined) central?.offer(answer.config);
    const advanced = answer.ackedSeq > before;
    const more = advanced &&
      (available.length === this.#config.batchSize || sent.length < available.length);
    return { ok: true, more: more || this.#commands.pending };
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
        log.info("Connected to the collector {url}", {
          url: collectorEndpoints(this.#config).current,
        });
      } else {
        log.info("The collector {url} is reachable again after {attempts} failed attempt(s)", {
          url: collectorEndpoints(this.#config).current,
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
    const values = { url: collectorEndpoints(this.#config).current, error: message };
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

  /**
   * One request to the collector within `timeout` (plus `extraMs`); `read`
   * handles a 2xx answer, any other status throws a {@linkcode LinkError}.
   */
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
    const endpoints = collectorEndpoints(this.#config);
    const base = endpoints.current;
    try {
      const res = await this.#fetch(new URL(path, base), {
        ...init,
        headers: {
          authorization: `Bearer ${this.#config.token}`,
          [AGENT_FEATURES_HEADER]: this.#deps.central === undefined
            ? FEATURES
            : FEATURES_WITH_CENTRAL,
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        },
        signal: abort.signal,
      });
      if (!res.ok) throw await httpFailure(res);
      const features = res.headers.get(COLLECTOR_FEATURES_HEADER)?.split(",") ?? [];
      this.#extras = features.includes("script-extras");
      this.#centralOk = features.includes("central-config");
      return await read(res);
    } catch (error) {
      // No answer (or a 5xx): the next replica, if any, gets the retry. A 4xx is an answer.
      const answered = error instanceof LinkError && error.failure !== "unreachable";
      if (!stop.aborted && !answered) endpoints.failed(base);
      if (abort.signal.reason instanceof LinkError && !stop.aborted) {
        throw new LinkError("unreachable", `no answer within ${formatDuration(timeoutMs)}`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      done.abort();
      stop.removeEventListener("abort", onStop);
    }
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

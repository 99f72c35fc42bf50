/**
 * For the uplink's tests: a real local HTTP server standing in for the
 * collector (validating every request with the shared protocol schemas),
 * and a real in-process agent linked to it with a `[collector]` table.
 *
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { type Agent, startAgent } from "../agent.ts";
import { loadConfig } from "../config/load.ts";
import type { CollectorLink } from "./collector_link.ts";
import {
  type Command,
  type CommandAck,
  type IngestRequest,
  ingestRequestSchema,
  type IngestResponse,
  MAX_INGEST_BYTES,
  type WireEvent,
} from "../../shared/protocol.ts";
import { fixtureScript, writeConfig } from "../../tests/_agent_process.ts";
import { tempDir, until } from "../../tests/_helpers.ts";

const TOKEN = "test-token-0123456789";

/** How the fake collector answers an ingest. */
export type Mode = "ok" | "unavailable" | "unauthorized" | "lose-answer";

/** A stand-in collector on 127.0.0.1 that keeps what it was sent across restarts. */
export class FakeCollector {
  mode: Mode = "ok";
  /** Every valid ingest, in arrival order. */
  readonly requests: IngestRequest[] = [];
  /** Stored events by seq: a repeated seq is a no-op. */
  readonly stored = new Map<number, WireEvent>();
  /** How often each seq arrived. */
  readonly received = new Map<number, number>();
  readonly acks: CommandAck[] = [];
  /** Requests that broke the protocol. */
  readonly invalid: string[] = [];
  /** Ingests refused with 413 for being over MAX_INGEST_BYTES. */
  tooLarge = 0;
  /** Given in every ingest answer until acked. */
  queued: Command[] = [];
  /** Long-polls waiting now. */
  waiting = 0;
  /** The features header of the last request. */
  features: string | null = null;
  /**
   * What it answers in `X-Scriptmon-Collector-Features`; null: nothing, as an older collector,
   * which refuses a script summary's newer keys.
   */
  collectorFeatures: string | null = null;
  #ackedSeq = 0;
  #pollCommands: Command[] = [];
  #pollWaiters = new Set<() => void>();
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #abort = new AbortController();
  #port = 0;

  /** Starts serving (on the port of the last run after a `stop()`). */
  start(): void {
    this.#abort = new AbortController();
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: this.#port,
      signal: this.#abort.signal,
      onListen() {},
      onError: () => new Response(null, { status: 500 }),
    }, (req) => this.#handle(req));
    this.#port = this.#server.addr.port;
  }

  /** Stops serving: connections are refused until `start()`. */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const wake of this.#pollWaiters) wake();
    await this.#server?.finished;
    this.#server = null;
  }

  /** Where it listens, with a trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/`;
  }

  /** Hands `command` to a waiting (or the next) long-poll. */
  push(command: Command): void {
    this.#pollCommands.push(command);
    for (const wake of this.#pollWaiters) wake();
  }

  /** The seqs stored, ascending. */
  storedSeqs(): number[] {
    return [...this.stored.keys()].sort((a, b) => a - b);
  }

  async #handle(req: Request): Promise<Response> {
    if (req.headers.get("authorization") !== `Bearer ${TOKEN}` || this.mode === "unauthorized") {
      return Response.json({ error: "bad token" }, { status: 401 });
    }
    const path = new URL(req.url).pathname;
    this.features = req.headers.get("x-scriptmon-features");
    if (req.method === "GET" && path === "/api/v1/commands") return await this.#poll(req);
    if (req.method !== "POST" || path !== "/api/v1/ingest") {
      this.invalid.push(`${req.method} ${path}`);
      return new Response(null, { status: 404 });
    }
    const text = await req.text();
    if (new TextEncoder().encode(text).length > MAX_INGEST_BYTES) {
      this.tooLarge++;
      return Response.json({ error: "too large" }, { status: 413 });
    }
    const parsed = ingestRequestSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      this.invalid.push(z.prettifyError(parsed.error));
      return Response.json({ error: "invalid" }, { status: 400 });
    }
    if (this.mode === "unavailable") return new Response("down", { status: 503 });
    const body = parsed.data;
    if (!this.collectorFeatures?.split(",").includes("script-extras")) {
      const newer = ["offHours", "posted", "pings", "anomalies"];
      for (const script of body.scripts) {
        const keys = [
          ...newer.filter((key) => key in script),
          ...(script.lastExit !== null && "runtimeMs" in script.lastExit ? ["runtimeMs"] : []),
        ];
        if (keys.length > 0) this.invalid.push(`keys an older collector refuses: ${keys}`);
      }
    }
    this.requests.push(body);
    for (const event of body.events) {
      this.received.set(event.seq, (this.received.get(event.seq) ?? 0) + 1);
      if (!this.stored.has(event.seq)) this.stored.set(event.seq, event);
    }
    // As the collector does: the highest contiguous seq stored.
    while (this.stored.has(this.#ackedSeq + 1)) this.#ackedSeq++;
    for (const ack of body.acks) {
      this.acks.push(ack);
      this.queued = this.queued.filter((c) => c.id !== ack.id);
    }
    if (this.mode === "lose-answer") {
      this.mode = "ok";
      // Stored, but the connection breaks before the answer is through.
      return new Response(new ReadableStream({ start: (c) => c.error(new Error("lost")) }));
    }
    const answer: IngestResponse = {
      ackedSeq: this.#ackedSeq,
      commands: this.queued,
      now: new Date().toISOString(),
    };
    return Response.json(
      answer,
      this.collectorFeatures === null
        ? {}
        : { headers: { "x-scriptmon-collector-features": this.collectorFeatures } },
    );
  }

  async #poll(req: Request): Promise<Response> {
    const wait = Number(new URL(req.url).searchParams.get("wait"));
    if (!(wait > 0 && wait <= 30_000)) this.invalid.push(`long-poll wait=${wait}`);
    if (this.#pollCommands.length === 0) {
      const woken = Promise.withResolvers<void>();
      const timer = setTimeout(woken.resolve, wait);
      this.#pollWaiters.add(woken.resolve);
      this.waiting++;
      await woken.promise;
      this.waiting--;
      this.#pollWaiters.delete(woken.resolve);
      clearTimeout(timer);
    }
    const commands = this.#pollCommands.splice(0);
    return Response.json({ commands, now: new Date().toISOString() });
  }
}

/** An agent running `print_hang.ts` as script "s", linked to a fresh fake collector. */
export async function withLinkedAgent(
  fn: (agent: Agent, link: CollectorLink, collector: FakeCollector) => Promise<void>,
  options: {
    collectorKeys?: string;
    heartbeat?: string;
    mode?: Mode;
    /** The URLs written in `url` (a list), given the fake collector's; default just it. */
    urls?: (url: string) => string[];
    /** What the fake collector says it accepts; default nothing (an older collector). */
    collectorFeatures?: string;
    /** More keys of the one script, `s`. */
    scriptKeys?: string;
  } = {},
) {
  await using dir = await tempDir();
  const collector = new FakeCollector();
  collector.mode = options.mode ?? "ok";
  collector.collectorFeatures = options.collectorFeatures ?? null;
  collector.start();
  const url = options.urls === undefined
    ? `"${collector.url}"`
    : `[${options.urls(collector.url).map((u) => `"${u}"`).join(", ")}]`;
  const keys = `\n[collector]\nurl = ${url}\ntoken = "${TOKEN}"\n` +
    `heartbeat_interval = "${options.heartbeat ?? "1s"}"\ntimeout = "2s"\n${
      options.collectorKeys ?? ""
    }\n`;
  const script = fixtureScript("s", "print_hang.ts", "1") + (options.scriptKeys ?? "");
  const path = await writeConfig(dir.path, script, keys);
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  try {
    assert.ok(agent.collector, "the [collector] table starts a link");
    await fn(agent, agent.collector, collector);
    assert.deepEqual(collector.invalid, [], "every request kept to the protocol");
  } finally {
    await agent.shutdown();
    await collector.stop();
  }
}

/** Resolves once the collector has acked every event the agent has stored. */
export async function allAcked(agent: Agent, link: CollectorLink): Promise<void> {
  await until("every event acked", async () => {
    await agent.events.flush();
    return link.ackedSeq === agent.events.lastSeq && link.status().pending === 0;
  });
}

/** Resolves with the collector's first ack of command `id`. */
export function ackOf(collector: FakeCollector, id: string): Promise<CommandAck> {
  return until(`the ack of ${id}`, () => collector.acks.find((a) => a.id === id));
}

/** An `expiresAt` a minute from now. */
export const inAMinute = (): string => new Date(Date.now() + 60_000).toISOString();

/**
 * The collector link against a real local HTTP server standing in for the
 * collector (validating every request with the shared protocol schemas),
 * from a real in-process agent with a `[collector]` table.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { type Agent, startAgent } from "../agent.ts";
import { loadConfig } from "../config/load.ts";
import type { CollectorLink } from "./collector_link.ts";
import { fitIngest } from "./ingest_body.ts";
import { DROPPED_KIND } from "./spool.ts";
import {
  type Command,
  type CommandAck,
  type IngestRequest,
  ingestRequestSchema,
  type IngestResponse,
  MAX_INGEST_BYTES,
  PROTOCOL_VERSION,
  type ScriptSummary,
  type WireEvent,
} from "../../shared/protocol.ts";
import { fixtureScript, writeConfig } from "../../tests/_agent_process.ts";
import { tempDir, until } from "../../tests/_helpers.ts";

const TOKEN = "test-token-0123456789";

/** How the fake collector answers an ingest. */
type Mode = "ok" | "unavailable" | "unauthorized" | "lose-answer";

/** A stand-in collector on 127.0.0.1 that keeps what it was sent across restarts. */
class FakeCollector {
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
    return Response.json(answer);
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
async function withLinkedAgent(
  fn: (agent: Agent, link: CollectorLink, collector: FakeCollector) => Promise<void>,
  options: { collectorKeys?: string; heartbeat?: string; mode?: Mode } = {},
) {
  await using dir = await tempDir();
  const collector = new FakeCollector();
  collector.mode = options.mode ?? "ok";
  collector.start();
  const keys = `\n[collector]\nurl = "${collector.url}"\ntoken = "${TOKEN}"\n` +
    `heartbeat_interval = "${options.heartbeat ?? "1s"}"\ntimeout = "2s"\n${
      options.collectorKeys ?? ""
    }\n`;
  const path = await writeConfig(dir.path, fixtureScript("s", "print_hang.ts", "1"), keys);
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
async function allAcked(agent: Agent, link: CollectorLink): Promise<void> {
  await until("every event acked", async () => {
    await agent.events.flush();
    return link.ackedSeq === agent.events.lastSeq && link.status().pending === 0;
  });
}

/** Resolves with the collector's first ack of command `id`. */
function ackOf(collector: FakeCollector, id: string): Promise<CommandAck> {
  return until(`the ack of ${id}`, () => collector.acks.find((a) => a.id === id));
}

const inAMinute = () => new Date(Date.now() + 60_000).toISOString();

Deno.test("after the collector refused connections a while, every event arrives once, in order", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    await collector.stop();
    for (let i = 0; i < 25; i++) agent.events.append({ kind: "config", reason: `while down ${i}` });
    await until("the outage noticed", () => !link.status().connected && link.status().lastError);
    for (let i = 0; i < 25; i++) agent.events.append({ kind: "config", reason: `still down ${i}` });
    assert.ok(link.status().pending >= 50, `50 events wait, got ${link.status().pending}`);
    collector.start();
    await allAcked(agent, link);
    const seqs = collector.storedSeqs();
    assert.deepEqual(seqs, Array.from({ length: agent.events.lastSeq }, (_, i) => i + 1));
    assert.ok([...collector.received.values()].every((n) => n === 1), "none sent twice");
    const order = collector.requests.flatMap((r) => r.events.map((e) => e.seq));
    assert.deepEqual(order, seqs, "sent in seq order");
    assert.ok(collector.requests.some((r) => r.events.length === 10), "full batches of 10");
    const status = link.status();
    assert.equal(status.connected, true);
    assert.equal(status.lastError, null);
    assert.equal(status.url, collector.url);
  }, { collectorKeys: "batch_size = 10" });
});

Deno.test("a batch sent again after its answer was lost is stored once and acked", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    const acked = link.ackedSeq;
    collector.mode = "lose-answer";
    const event = agent.events.append({ kind: "config", reason: "answer lost" });
    await until("the lost answer noticed", () => link.status().lastError);
    assert.equal(link.ackedSeq, acked, "not acked without an answer");
    await allAcked(agent, link);
    assert.equal(collector.received.get(event.seq), 2, "sent again");
    assert.equal(collector.stored.get(event.seq)?.data.reason, "answer lost");
    assert.ok(link.ackedSeq >= event.seq);
  });
});

Deno.test("a restart command in the ingest answer restarts the script once and is acked", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    const before = agent.supervisor.statusOf("s").pid;
    let restarts = 0;
    const off = agent.events.subscribe((e) => {
      if (e.kind === "state" && e.script === "s" && e.reason === "restarting") restarts++;
    });
    // The fake gives it in every answer until the ack: it must still run only once.
    collector.queued = [{
      id: "cmd-1",
      action: "restart",
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "ops@test",
    }];
    agent.events.append({ kind: "config", reason: "poke an ingest" });
    const ack = await ackOf(collector, "cmd-1");
    off();
    assert.equal(ack.ok, true, ack.message);
    assert.match(ack.message, /^restart s: done, now running$/);
    const after = agent.supervisor.statusOf("s");
    assert.equal(after.state, "running");
    assert.notEqual(after.pid, before);
    assert.equal(restarts, 1);
    await allAcked(agent, link);
  });
});

Deno.test("the long-poll delivers a command promptly, well before the next heartbeat", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    await until("a long-poll waiting", () => collector.waiting > 0);
    const sent = Date.now();
    collector.push({
      id: "cmd-2",
      action: "stop",
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "ops@test",
    });
    const ack = await ackOf(collector, "cmd-2");
    assert.ok(Date.now() - sent < 5000, `acked after ${Date.now() - sent} ms`);
    assert.equal(ack.ok, true, ack.message);
    assert.equal(agent.supervisor.statusOf("s").state, "stopped");
    assert.match(agent.supervisor.statusOf("s").reason!, /remote command from ops@test/);
  }, { heartbeat: "60s" });
});

Deno.test("a logs command is answered with the script's lines and stream marks, and runs nothing", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    assert.equal(collector.features, "logs", "the agent announces that it answers logs");
    const before = agent.supervisor.statusOf("s");
    await until("the fixture's lines in its log", async () => {
      const text = await Deno.readTextFile(agent.supervisor.get("s").logPath).catch(() => "");
      return text.includes("to stderr");
    });
    await until("a long-poll waiting", () => collector.waiting > 0);
    collector.push({
      id: "logs-1",
      action: "logs",
      params: { lines: 10 },
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "user:vera",
    });
    const ack = await ackOf(collector, "logs-1");
    assert.equal(ack.ok, true, ack.message);
    assert.deepEqual(ack.logs?.lines.map((l) => [l.stream, l.text]), [
      ["stdout", "line 1"],
      ["stderr", "to stderr"],
    ]);
    const after = agent.supervisor.statusOf("s");
    assert.equal(after.pid, before.pid, "nothing restarted");
    collector.push({
      id: "logs-2",
      action: "logs",
      params: { lines: 10, after: ack.logs!.cursor },
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "user:vera",
    });
    const next = await ackOf(collector, "logs-2");
    assert.deepEqual(next.logs?.lines, [], "nothing new since the cursor");
  }, { heartbeat: "60s" });
});

Deno.test("an expired command or one for an unknown script is acked ok:false and not run", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    const before = agent.supervisor.statusOf("s");
    collector.queued = [
      {
        id: "old",
        action: "restart",
        script: "s",
        expiresAt: new Date(Date.now() - 1000).toISOString(),
        requestedBy: "ops@test",
      },
      { id: "typo", action: "stop", script: "nope", expiresAt: inAMinute(), requestedBy: "x" },
    ];
    agent.events.append({ kind: "config", reason: "poke an ingest" });
    const expired = await ackOf(collector, "old");
    const unknown = await ackOf(collector, "typo");
    assert.equal(expired.ok, false);
    assert.match(expired.message, /^not carried out: expired at \d{4}-/);
    assert.equal(unknown.ok, false);
    assert.equal(unknown.message, 'not carried out: no script named "nope" (known: s)');
    const after = agent.supervisor.statusOf("s");
    assert.equal(after.pid, before.pid, "not restarted");
    assert.equal(after.restarts, 0);
  });
});

Deno.test("over spool_limit the oldest resource samples are dropped, reported, and nothing else", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await until("the first ingest failed", () => link.status().lastError);
    for (let i = 0; i < 30; i++) {
      agent.events.append({ kind: "check", script: "s", check: "memory", status: "ok", value: i });
      if (i % 3 === 0) agent.events.append({ kind: "state", script: "s", reason: `kept ${i}` });
    }
    await until("samples dropped", () => link.status().dropped > 0);
    const { dropped } = link.status();
    collector.mode = "ok";
    await allAcked(agent, link);
    // Every seq is accounted for: a dropped one as a marker, so the contiguous ack moves on.
    assert.deepEqual(
      collector.storedSeqs(),
      Array.from({ length: agent.events.lastSeq }, (_, i) => i + 1),
    );
    const all = [...collector.stored.values()];
    assert.equal(all.filter((e) => e.kind === DROPPED_KIND).length, dropped);
    const kept = all.filter((e) => e.kind !== DROPPED_KIND);
    assert.equal(kept.filter((e) => e.data.reason?.toString().startsWith("kept")).length, 10);
    assert.ok(kept.some((e) => e.kind === "state" && e.data.state === "running"));
    const samples = kept.filter((e) => e.data.check === "memory").map((e) => e.data.value);
    assert.equal(samples.length, 30 - dropped);
    assert.deepEqual(samples, Array.from({ length: 30 - dropped }, (_, i) => i + dropped));
    assert.equal(collector.requests.at(-1)?.dropped, dropped, "reported to the collector");
  }, { mode: "unavailable", collectorKeys: "spool_limit = 20" });
});

Deno.test("a refused token shows in status().lastError", async () => {
  await withLinkedAgent(async (_agent, link) => {
    const error = await until("the refusal", () => link.status().lastError ?? undefined);
    assert.match(error, /^HTTP 401: \{"error":"bad token"\}$/);
    assert.equal(link.status().connected, false);
    assert.equal(link.status().lastOkAt, null);
  }, { mode: "unauthorized" });
});

Deno.test("script summaries over the ingest limit are trimmed and the events still arrive", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    const status = agent.supervisor.status.bind(agent.supervisor);
    // 20 scripts with 100 checks of 1000-character reasons: about 2 MB of summaries.
    agent.supervisor.status = () => {
      const [real] = status();
      const checks = Array.from({ length: 100 }, (_, i) => ({
        name: `probe:p${i}`,
        status: "failing" as const,
        reason: "r".repeat(1000),
        since: "2026-05-01T12:00:00.000Z",
        checkedAt: null,
        consecutiveFailures: 1,
        failuresTotal: 1,
      }));
      return Array.from({ length: 20 }, (_, i) => ({ ...real, name: `s${i}`, checks }));
    };
    await allAcked(agent, link);
    assert.equal(collector.tooLarge, 0);
    const last = collector.requests.at(-1)!;
    assert.equal(last.scripts.length, 20);
    assert.equal(last.scripts[0].checks[0].reason.length, 200);
  });
});

Deno.test("fitIngest() sends an event too big on its own reduced, and only the scripts that fit", () => {
  const event = (seq: number, reason: string): WireEvent => ({
    seq,
    at: "2026-05-01T12:00:00.000Z",
    kind: "exit",
    script: "s",
    data: { reason },
  });
  const huge = event(1, "x".repeat(20_000));
  const scripts: ScriptSummary[] = Array.from({ length: 1000 }, (_, i) => ({
    name: `s${i}`,
    state: "running",
    health: "ok",
    enabled: true,
    pid: null,
    uptimeMs: null,
    restarts: 0,
    rssBytes: null,
    cpuPercent: null,
    lastExit: null,
    checks: [],
    reason: null,
  }));
  const { body, sent } = fitIngest(
    (list, events) => ({
      protocol: PROTOCOL_VERSION,
      agent: {
        site: "BFI4",
        host: "ws-01",
        version: "0.0.0",
        os: "linux",
        pid: 1,
        startedAt: "2026-05-01T12:00:00.000Z",
        now: "2026-05-01T12:00:00.000Z",
      },
      scripts: list,
      events,
      acks: [],
      dropped: 0,
    }),
    scripts,
    [huge, event(2, "small")],
    10_000,
  );
  assert.ok(new TextEncoder().encode(body).length <= 10_000);
  assert.deepEqual(sent, [{
    ...huge,
    data: { truncated: true, size: new TextEncoder().encode(JSON.stringify(huge)).length },
  }]);
  const parsed = ingestRequestSchema.parse(JSON.parse(body));
  assert.ok(parsed.scripts.length > 0 && parsed.scripts.length < 1000);
  assert.deepEqual(parsed.events, sent);
});

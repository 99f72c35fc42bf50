/**
 * Remote commands from the collector (start, stop, restart a script; read
 * its log): they arrive in the ingest answers and, faster, through a
 * long-poll kept open while the collector is reachable. Each runs at most
 * once: a done record in KV (kept a day) is written before it runs, so a
 * command given again, even after the agent restarted, is answered from the
 * record and never run twice. Answers (acks) go out with the next ingest.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { z } from "zod";
import { type Command, type CommandAck, commandSchema } from "../../shared/protocol.ts";
import type { Clock } from "../clock.ts";
import { readLogsAnswer } from "../logs/request.ts";
import type { Supervisor } from "../supervise/supervisor.ts";
import { cut, errorText } from "./ingest_body.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** What remote commands need from the collector link. */
export interface RemoteCommandsDeps {
  kv: KvHandle;
  supervisor: Supervisor;
  clock: Clock;
  /** Aborted when the link closes: no command starts after it. */
  signal: AbortSignal;
  /** The link's heartbeat interval: the pause after a long-poll answered empty at once. */
  heartbeatIntervalMs: number;
  /**
   * One authenticated request to the collector within the link's timeout
   * plus `extraMs`; `read` handles a 2xx answer (any other status throws).
   */
  request<T>(
    path: string,
    init: RequestInit,
    read: (res: Response) => Promise<T>,
    extraMs?: number,
  ): Promise<T>;
  /** Whether the last ingest reached the collector. */
  isUp(): boolean;
  /** Resolves when an ingest reaches the collector again (or the link closes). */
  whenUp(): Promise<void>;
  /** The link's retry delay after `failures` failed attempts in a row. */
  retryDelay(failures: number): number;
  /** A command just finished: its ack should go out at once. */
  onAck(): void;
}

/** What a long-poll answers (the protocol leaves the body open: `commands` is read). */
const commandsAnswerSchema = z.object({ commands: z.array(commandSchema) });

/** A command carried out (or refused), kept a day so that it is never done twice. */
interface DoneRecord {
  /** Null while it runs: an agent that stopped meanwhile does not run it again. */
  ack: CommandAck | null;
}

const log = getLogger(["scriptmon", "collector"]);
const DONE_PREFIX = ["link", "done"];
const DAY_MS = 86_400_000;
/** The long-poll's `wait`. */
const LONG_POLL_MS = 25_000;
/** A long-poll answered empty sooner than this came back at once (not a wait). */
const QUICK_ANSWER_MS = 1000;
/** Acks per ingest (the protocol's bound). */
const MAX_ACKS = 100;
/** Bytes of acks per ingest (log lines are large): the rest go with the next one, at once. */
const MAX_ACK_BYTES = 512 * 1024;

/** The agent's side of remote commands; see the module comment. */
export class RemoteCommands {
  #deps: RemoteCommandsDeps;
  #acks: CommandAck[] = [];
  /** A command just finished: its ack goes out at once. */
  #freshAck = false;
  /** Commands queued or running in this process. */
  #running = new Set<string>();
  #queue: Promise<void> = Promise.resolve();
  /** `logs` commands being answered (read-only: beside the queue, not in it). */
  #reads = new Set<Promise<void>>();

  constructor(deps: RemoteCommandsDeps) {
    this.#deps = deps;
  }

  /** Acks are waiting to be sent, or one just came. */
  get pending(): boolean {
    return this.#freshAck || this.#acks.length > 0;
  }

  /** The acks for the next ingest: the first that fit its bounds. */
  nextAcks(): CommandAck[] {
    this.#freshAck = false;
    return withinBudget(this.#acks.slice(0, MAX_ACKS));
  }

  /** Forgets `acks`: the collector has them. */
  delivered(acks: readonly CommandAck[]): void {
    this.#acks = this.#acks.filter((ack) => !acks.includes(ack));
  }

  /** Waits for the running command and the log reads (after the link's signal aborted). */
  async close(): Promise<void> {
    await this.#queue;
    await Promise.all(this.#reads);
  }

  /** Long-polls the collector for commands while it is reachable, until the signal aborts. */
  async poll(): Promise<void> {
    const { clock, signal: stop } = this.#deps;
    let failures = 0;
    while (!stop.aborted) {
      if (!this.#deps.isUp()) {
        await this.#deps.whenUp();
        continue;
      }
      const startedAt = clock.now();
      try {
        const commands = await this.#deps.request(
          `api/v1/commands?wait=${LONG_POLL_MS}`,
          { method: "GET" },
          async (res) => commandsAnswerSchema.parse(await res.json()).commands,
          LONG_POLL_MS,
        );
        failures = 0;
        this.handle(commands);
        // A collector that answers at once must not make this a busy loop.
        if (commands.length === 0 && clock.now() - startedAt < QUICK_ANSWER_MS) {
          await clock.sleep(this.#deps.heartbeatIntervalMs, stop);
        }
      } catch (error) {
        if (stop.aborted) break;
        failures++;
        log.debug("Command long-poll failed: {error}", { error });
        await clock.sleep(this.#deps.retryDelay(failures), stop);
      }
    }
  }

  /** Queues each command not already queued or running. */
  handle(commands: Command[]): void {
    for (const command of commands) {
      if (this.#running.has(command.id) || this.#deps.signal.aborted) continue;
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
      this.#queue = this.#queue
        .then(() => this.#execute(command))
        .catch((error) => log.error("Command {id} failed: {error}", { id: command.id, error }))
        .finally(() => this.#running.delete(command.id));
    }
  }

  async #execute(command: Command): Promise<void> {
    if (this.#deps.signal.aborted) return;
    const { kv, supervisor, clock } = this.#deps;
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
    if (Date.parse(command.expiresAt) <= clock.now()) {
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
    const { supervisor, clock } = this.#deps;
    const runner = supervisor.runners().find((r) => r.name === command.script);
    if (Date.parse(command.expiresAt) <= clock.now()) {
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
      at: new Date(this.#deps.clock.now()).toISOString(),
    };
  }

  #queueAck(ack: CommandAck): void {
    if (!this.#acks.some((a) => a.id === ack.id)) this.#acks.push(ack);
    this.#freshAck = true;
    this.#deps.onAck();
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

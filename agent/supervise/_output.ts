/**
 * A script's output as its runner keeps it: every line in the script's
 * rotating log (tagged `out` or `err`), the last lines in memory for
 * `status` and notifications, and the time of the last line for the silence
 * check. A failing log write never stops the script: it is counted and
 * reported now and then.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import { pumpLines } from "../logs/line_splitter.ts";
import { type LogStream, RotatingLogWriter } from "../logs/writer.ts";
import type { EventLog } from "./event_log.ts";

/** One line the script printed, and which pipe it came from. */
export interface OutputLine {
  stream: LogStream;
  line: string;
}

/** What a script's output needs. */
export interface ScriptOutputDeps {
  script: ResolvedScript;
  /** The script's current log file. */
  logPath: string;
  events: EventLog;
  clock: Clock;
  log: Logger;
  /** Called with the time whenever the script printed (once per batch of lines). */
  onOutput: (at: number) => void;
}

/** Lines kept in memory. */
const RECENT_LINES = 50;
/** A failing log write is reported once every this many failures. */
const REPORT_EVERY = 1000;

/** One script's output; see the module comment. */
export class ScriptOutput {
  #deps: ScriptOutputDeps;
  #writer: RotatingLogWriter | null = null;
  #recent: OutputLine[] = [];
  #lastAt: number | null = null;
  #errors = 0;

  constructor(deps: ScriptOutputDeps) {
    this.#deps = deps;
  }

  /** The last lines the script printed, oldest first. */
  get recent(): readonly OutputLine[] {
    return this.#recent;
  }

  /** Milliseconds since epoch of the last output line, or null. */
  get lastAt(): number | null {
    return this.#lastAt;
  }

  /** Opens the log (once): before a start, so that a log that cannot be opened fails it. */
  async open(): Promise<void> {
    this.#writer ??= await RotatingLogWriter.open({
      path: this.#deps.logPath,
      ...this.#deps.script.log,
    });
  }

  /**
   * Reads `child`'s stdout and stderr line by line into the log until both
   * pipes close.
   *
   * @throws {Error} when the log is not open (`open()` first).
   */
  capture(
    child: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> },
  ): Promise<void> {
    const writer = this.#writer;
    if (writer === null) {
      throw new Error(`The log of script "${this.#deps.script.name}" is not open: open() first`);
    }
    const out = pumpLines(child.stdout, (lines) => this.#onLines(writer, "out", lines));
    const err = pumpLines(child.stderr, (lines) => this.#onLines(writer, "err", lines));
    return Promise.all([out, err]).then(() => {});
  }

  /** Closes the log; a later `open()` opens it again. */
  async close(): Promise<void> {
    await this.#writer?.close();
    this.#writer = null;
  }

  #onLines(writer: RotatingLogWriter, stream: LogStream, lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    const { clock, events, log, script } = this.#deps;
    this.#lastAt = clock.now();
    this.#deps.onOutput(this.#lastAt);
    for (const line of lines.slice(-RECENT_LINES)) this.#recent.push({ stream, line });
    if (this.#recent.length > RECENT_LINES) {
      this.#recent.splice(0, this.#recent.length - RECENT_LINES);
    }
    return writer.write(stream, lines).catch((error) => {
      // A full disk must not stop the script: count, report now and then, go on.
      if (this.#errors++ % REPORT_EVERY === 0) {
        log.error("Cannot write the log of {script}: {error}", { script: script.name, error });
        events.append({
          kind: "output-error",
          script: script.name,
          reason: `${this.#errors} log write(s) failed: ${error}`,
        });
      }
    });
  }
}

/** The agent's own log: LogTape to stderr and to a rotating file in the log folder, secrets redacted. */
import { configure, getStreamSink, getTextFormatter, type LogLevel, reset } from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";
import { join } from "node:path";
import { redact } from "../shared/redact.ts";

/** Where and how much the agent logs. */
export interface LoggingOptions {
  level: LogLevel;
  /** Folder for `agent.log`; omitted: stderr only. */
  logDir?: string;
  /** Also write to stderr (default true). */
  stderr?: boolean;
}

/** Sets up logging; returns the function that flushes and closes it (await before exit). */
export async function setupLogging(options: LoggingOptions): Promise<() => Promise<void>> {
  const text = getTextFormatter({ timestamp: "date-time-timezone", value: "bare" });
  // No secret of the config (webhook URLs, passwords, the collector token) is ever logged.
  const formatter = (record: Parameters<typeof text>[0]) => redact(text(record));
  const sinks: Record<string, Parameters<typeof configure>[0]["sinks"][string]> = {};
  if (options.stderr ?? true) sinks.stderr = getStreamSink(Deno.stderr.writable, { formatter });
  if (options.logDir) {
    await Deno.mkdir(options.logDir, { recursive: true });
    sinks.file = getRotatingFileSink(join(options.logDir, "agent.log"), {
      formatter,
      maxSize: 10 * 1024 * 1024,
      maxFiles: 5,
    });
  }
  await configure({
    reset: true,
    sinks,
    loggers: [
      { category: ["scriptmon"], lowestLevel: options.level, sinks: Object.keys(sinks) },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: Object.keys(sinks) },
    ],
  });
  return reset;
}

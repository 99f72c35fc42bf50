/** The collector's own log: LogTape to stderr (the service manager keeps it), secrets redacted. */
import { configure, getStreamSink, getTextFormatter, type LogLevel, reset } from "@logtape/logtape";
import { redact } from "../shared/redact.ts";

/** Sets up logging at `level`; returns the function that flushes and closes it (await before exit). */
export async function setupLogging(options: { level: LogLevel }): Promise<() => Promise<void>> {
  const text = getTextFormatter({ timestamp: "date-time-timezone", value: "bare" });
  // No secret of the config (webhook URLs, passwords) is ever written to the log.
  const formatter = (record: Parameters<typeof text>[0]) => redact(text(record));
  await configure({
    reset: true,
    sinks: { stderr: getStreamSink(Deno.stderr.writable, { formatter }) },
    loggers: [
      { category: ["scriptmon"], lowestLevel: options.level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
  return reset;
}

/** The collector's own log: LogTape to stderr (the service manager keeps it). */
import { configure, getStreamSink, getTextFormatter, type LogLevel, reset } from "@logtape/logtape";

/** Sets up logging at `level`; returns the function that flushes and closes it (await before exit). */
export async function setupLogging(options: { level: LogLevel }): Promise<() => Promise<void>> {
  const formatter = getTextFormatter({ timestamp: "date-time-timezone", value: "bare" });
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

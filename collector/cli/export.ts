/**
 * `scriptmon-collector export <dataset> [--format jsonl|csv] [--since T] [--until T] [-o FILE]`:
 * a dataset for analysts (`collector/export/`) read from the store directly, written to stdout
 * (or a file, whole or not at all); the row count goes to stderr.
 *
 * @module
 */
import { type Command, Option } from "commander";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import {
  datasetNames,
  EXPORT_FORMATS,
  type ExportFormat,
  exportSource,
  exportStream,
  exportWindow,
  findDataset,
  parseTime,
} from "../export/mod.ts";
import { withKv } from "../store/open.ts";
import { Store } from "../store/store.ts";

interface ExportOptions {
  format: ExportFormat;
  since?: string;
  until?: string;
  output?: string;
}

/** Writes `body` to `file` through a temporary file beside it, so that `file` is whole or absent. */
async function writeFile(file: string, body: ReadableStream<Uint8Array>): Promise<void> {
  const partial = `${file}.partial`;
  try {
    const out = await Deno.open(partial, { write: true, create: true, truncate: true });
    try {
      await body.pipeTo(out.writable);
    } catch (error) {
      await Deno.remove(partial).catch(() => {});
      throw error;
    }
    await Deno.rename(partial, file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied)) {
      throw error;
    }
    throw new Error(`Cannot write ${file}: ${error.message}`, { cause: error });
  }
}

/** Adds `export <dataset>` to `cli`. */
export function exportCommands(cli: Command, load: () => Promise<ResolvedCollectorConfig>): void {
  cli.command("export <dataset>")
    .description(
      `write a dataset for analysts (${datasetNames()}) as JSON lines or CSV; the row count to stderr`,
    )
    .addOption(
      new Option("--format <format>", "jsonl: one JSON object per line; csv: a header row")
        .choices(EXPORT_FORMATS).default("jsonl"),
    )
    .option("--since <time>", "start of the window, ISO time (default 30 days before --until)")
    .option("--until <time>", "end of the window, ISO time (default now)")
    .option("-o, --output <file>", "write to <file> (whole, or not at all) instead of stdout")
    .action(async (name: string, options: ExportOptions) => {
      const dataset = findDataset(name);
      if (dataset === undefined) {
        throw new RangeError(
          `Unknown dataset ${JSON.stringify(name)}: expected one of ${datasetNames()}`,
        );
      }
      const window = exportWindow({
        ...(options.since === undefined ? {} : { since: parseTime("--since", options.since) }),
        ...(options.until === undefined ? {} : { until: parseTime("--until", options.until) }),
      }, Date.now());
      await withKv(await load(), async (kv) => {
        const { body, counted } = exportStream(dataset, exportSource(new Store(kv)), window, {
          format: options.format,
        });
        if (options.output === undefined) {
          await body.pipeTo(Deno.stdout.writable, { preventClose: true });
        } else {
          await writeFile(options.output, body);
        }
        const iso = (ms: number) => new Date(ms).toISOString();
        console.error(
          `Exported ${counted.rows} rows of ${dataset.name} from ${iso(window.since)} to ${
            iso(window.until)
          }${options.output === undefined ? "" : ` to ${options.output}`}`,
        );
      });
    });
}

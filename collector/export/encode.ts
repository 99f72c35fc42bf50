/**
 * A dataset's rows as text: CSV (a header row, then a row per record, CRLF line ends; the
 * collector's `csvLine`) or JSON lines (one object per line, its keys in column order), produced
 * a chunk at a time as the rows are read, so that an export of any size holds one chunk.
 *
 * @module
 */

import { csvLine } from "../http/csv.ts";
import type { Dataset, ExportQuery, ExportSource, Row } from "./dataset.ts";

/** The formats, the default first. */
export const EXPORT_FORMATS = ["jsonl", "csv"] as const;

/** One of {@linkcode EXPORT_FORMATS}. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** The media type of each format. */
export const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  jsonl: "application/x-ndjson",
  csv: "text/csv; charset=utf-8",
};

/** A chunk is handed on once it holds about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/** One row as a JSON line, its keys in the order of `columns`. */
export function jsonLine(columns: readonly string[], row: Row): string {
  return JSON.stringify(Object.fromEntries(columns.map((c) => [c, row[c] ?? null]))) + "\n";
}

/**
 * The text of `rows` in `format`, in chunks; `counted.rows` counts the rows written so far.
 * A CSV has its header row even without rows.
 */
export async function* encodeRows(
  columns: readonly string[],
  rows: AsyncIterable<Row>,
  format: ExportFormat,
  counted: { rows: number } = { rows: 0 },
): AsyncGenerator<string> {
  let chunk = format === "csv" ? csvLine(columns) : "";
  for await (const row of rows) {
    chunk += format === "csv" ? csvLine(columns, row) : jsonLine(columns, row);
    counted.rows++;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk !== "") yield chunk;
}

/** What {@linkcode exportStream} gives: the bytes, and how many rows went out so far. */
export interface ExportStream {
  body: ReadableStream<Uint8Array>;
  counted: { rows: number };
}

/**
 * The bytes of `dataset`'s rows of `query` in `format`, read from `source` as they are pulled.
 * A read that fails part way errors the stream (a reader sees it cut off, never a short export
 * that looks whole) after `onError` is told.
 */
export function exportStream(
  dataset: Dataset,
  source: ExportSource,
  query: ExportQuery,
  options: { format: ExportFormat; onError?: (error: unknown) => void },
): ExportStream {
  const counted = { rows: 0 };
  const columns = dataset.columns.map((column) => column.name);
  const text = encodeRows(columns, dataset.rows(source, query), options.format, counted);
  async function* told() {
    try {
      yield* text;
    } catch (error) {
      options.onError?.(error);
      throw error;
    }
  }
  return {
    body: ReadableStream.from(told()).pipeThrough(new TextEncoderStream()),
    counted,
  };
}

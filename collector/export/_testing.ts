/**
 * Helpers for the datasets' tests: a store on an in-memory KV with its export sources, and
 * the rows of a dataset as an array.
 *
 * @module
 */

import { Store } from "../store/store.ts";
import {
  type Dataset,
  type ExportQuery,
  type ExportSource,
  exportSource,
  type Row,
} from "./dataset.ts";

/** Runs `fn` with sources on a fresh in-memory KV, closed after. */
export async function withSource(
  fn: (source: ExportSource, kv: Deno.Kv) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(exportSource(new Store(kv)), kv);
  } finally {
    kv.close();
  }
}

/** Every row of `dataset` for `query`. */
export async function allRows(
  dataset: Dataset,
  source: ExportSource,
  query: ExportQuery,
): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of dataset.rows(source, query)) rows.push(row);
  return rows;
}

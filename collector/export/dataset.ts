/**
 * What a dataset for analysts is: named columns, each with a type and a one-line description,
 * and the rows of a window read from the collector's store. The same columns are the CSV
 * header, the keys of each JSON line and the columns of the PostgreSQL view
 * `analytics.<name>` (`migrations/0003_analytics.sql`): a contract, so a column is never
 * renamed or removed and new ones are only appended.
 *
 * @module
 */

import { Outbox } from "../../shared/notify/outbox.ts";
import { CentralStore } from "../central/mod.ts";
import type { Store } from "../store/store.ts";

/** A column's type: its SQL type in the views, its JSON type in the lines. */
export type ColumnType = "text" | "integer" | "number" | "timestamp" | "date";

/** The SQL type of each column type. */
export const SQL_TYPES: Readonly<Record<ColumnType, string>> = {
  text: "text",
  integer: "integer",
  number: "double precision",
  timestamp: "timestamp with time zone",
  date: "date",
};

/** One column of a dataset. */
export interface Column {
  /** snake_case: the same in CSV, JSON lines and SQL. */
  name: string;
  type: ColumnType;
  /** One line: what it holds, its unit. */
  description: string;
}

/** One cell: text (times as ISO text, days as `YYYY-MM-DD`), a number, or null. */
export type Cell = string | number | null;

/** One row: a cell per column name. */
export type Row = Record<string, Cell>;

/** Where the rows come from: the store, the outbox's messages, the central config's versions. */
export interface ExportSource {
  store: Store;
  outbox: Outbox;
  central: CentralStore;
}

/** Which rows: a window (ms) and the sites the caller may see (absent: every site). */
export interface ExportQuery {
  since: number;
  until: number;
  sites?: readonly string[];
}

/** One dataset: its columns and how its rows are read. */
export interface Dataset {
  name: string;
  /** One line for the docs and the OpenAPI document. */
  description: string;
  /** What `since` and `until` select. */
  window: string;
  /** Fleet-wide: only for callers of every site (it has no site column). */
  allSites: boolean;
  columns: readonly Column[];
  /** The rows of `query`, read lazily (a page of the store at a time). */
  rows(source: ExportSource, query: ExportQuery): AsyncIterable<Row>;
}

/** The sources on `store`'s KV handle (read only: the outbox is never started). */
export function exportSource(store: Store): ExportSource {
  return {
    store,
    outbox: new Outbox(store.kv, { channels: new Map() }),
    central: new CentralStore(store.kv),
  };
}

/** Whether `site` is one `query` covers. */
export function covers(query: ExportQuery, site: string): boolean {
  return query.sites === undefined || query.sites.includes(site);
}

/** `ms` as an ISO time. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();

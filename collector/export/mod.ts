/**
 * Exports for analysts: four datasets (`uptime_days`, `incidents`, `notifications`,
 * `config_changes`), each one list of columns that the API and the CLI write as CSV or JSON
 * lines and the PostgreSQL store shows as the read-only views `analytics.<name>`
 * (`datasets.ts`, `dataset.ts`, `encode.ts`, `window.ts`).
 *
 * @module
 */

export { datasetNames, DATASETS, findDataset } from "./datasets.ts";
export { covers, exportSource, SQL_TYPES } from "./dataset.ts";
export type {
  Cell,
  Column,
  ColumnType,
  Dataset,
  ExportQuery,
  ExportSource,
  Row,
} from "./dataset.ts";
export { CONTENT_TYPES, encodeRows, EXPORT_FORMATS, exportStream, jsonLine } from "./encode.ts";
export type { ExportFormat, ExportStream } from "./encode.ts";
export { DEFAULT_WINDOW_MS, exportWindow, parseTime } from "./window.ts";
export { configChangeRow } from "./config_changes.ts";
export { incidentRow } from "./incidents.ts";
export { notificationRow } from "./notifications.ts";
export { uptimeDayRow } from "./uptime_days.ts";

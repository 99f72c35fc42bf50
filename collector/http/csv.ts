/** CSV output (RFC 4180): a header row, then one row per record, CRLF line ends. */

/** Text a spreadsheet would run as a formula when a cell starts with it. */
const FORMULA = /^[=+\-@\t\r]/;

/**
 * One field, quoted when it holds a comma, quote or line break. Text that
 * a spreadsheet would take for a formula (`=HYPERLINK(...)` as a user name)
 * starts with `'`, so that it is shown, never run; numbers are left as they are.
 */
export function csvField(value: unknown): string {
  const raw = value === null || value === undefined
    ? ""
    : typeof value === "object"
    ? JSON.stringify(value)
    : String(value);
  const text = typeof value === "string" && FORMULA.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line of `row` under `columns`, CRLF included; the header is `csvLine(columns)`. */
export function csvLine(
  columns: readonly string[],
  row?: Readonly<Record<string, unknown>>,
): string {
  const cells = row === undefined ? columns : columns.map((column) => row[column]);
  return cells.map(csvField).join(",") + "\r\n";
}

/** The CSV text of `rows` under `columns` (each row's value per column name). */
export function toCsv(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): string {
  return csvLine(columns) + rows.map((row) => csvLine(columns, row)).join("");
}

/**
 * A small Excel workbook (.xlsx) writer: one sheet per table, a bold header
 * row, numbers as numbers, everything else as inline strings (times as ISO
 * text, objects as JSON). The OOXML package is zipped with `fflate`.
 *
 * @module
 */

import { strToU8, zipSync } from "fflate";

/** One sheet: a header row of `columns`, then `rows` (each row's value per column name). */
export interface Sheet {
  /** Shown on the tab; cut to 31 characters, `[]:*?/\` replaced. */
  name: string;
  columns: readonly string[];
  rows: readonly Record<string, unknown>[];
}

/** The MIME type of an .xlsx file. */
export const XLSX_CONTENT_TYPE =
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** Excel's limit on the text of one cell. */
const MAX_CELL_CHARS = 32_767;

/** 1980-01-01 00:00, zip's first date: the same bytes for the same content. */
const ZIP_TIME = new Date(1980, 0, 1);

/**
 * The workbook of `sheets` as .xlsx bytes.
 *
 * @throws {RangeError} when `sheets` is empty.
 */
export function toXlsx(sheets: readonly Sheet[]): Uint8Array {
  if (sheets.length === 0) throw new RangeError("A workbook needs at least one sheet, got none");
  const names = uniqueNames(sheets.map((s) => s.name));
  const parts: Record<string, string> = {
    "[Content_Types].xml": contentTypes(sheets.length),
    "_rels/.rels": ROOT_RELS,
    "xl/workbook.xml": workbook(names),
    "xl/_rels/workbook.xml.rels": workbookRels(sheets.length),
    "xl/styles.xml": STYLES,
  };
  sheets.forEach((sheet, i) => {
    parts[`xl/worksheets/sheet${i + 1}.xml`] = worksheet(sheet);
  });
  const files = Object.fromEntries(
    Object.entries(parts).map(([name, text]) => [name, strToU8(text)]),
  );
  return zipSync(files, { mtime: ZIP_TIME });
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships";

const ROOT_RELS = `${XML_HEAD}<Relationships xmlns="${NS_PKG_REL}">` +
  `<Relationship Id="rId1" Type="${NS_REL}/officeDocument" Target="xl/workbook.xml"/>` +
  `</Relationships>`;

/** Style 0: normal; style 1: bold (the header row). */
const STYLES = `${XML_HEAD}<styleSheet xmlns="${NS_MAIN}">` +
  `<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>` +
  `<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>` +
  `<fills count="2"><fill><patternFill patternType="none"/></fill>` +
  `<fill><patternFill patternType="gray125"/></fill></fills>` +
  `<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
  `<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
  `<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
  `<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>` +
  `</styleSheet>`;

function contentTypes(count: number): string {
  const sheets = Array.from(
    { length: count },
    (_, i) =>
      `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/` +
      `vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
  ).join("");
  return `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
    `<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
    `<Default Extension="xml" ContentType="application/xml"/>` +
    `<Override PartName="/xl/workbook.xml" ContentType="application/` +
    `vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
    `<Override PartName="/xl/styles.xml" ContentType="application/` +
    `vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
    `${sheets}</Types>`;
}

function workbook(names: string[]): string {
  const sheets = names.map((name, i) =>
    `<sheet name="${escapeXml(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`
  ).join("");
  return `${XML_HEAD}<workbook xmlns="${NS_MAIN}" xmlns:r="${NS_REL}">` +
    `<sheets>${sheets}</sheets></workbook>`;
}

function workbookRels(count: number): string {
  const rels = Array.from(
    { length: count },
    (_, i) =>
      `<Relationship Id="rId${i + 1}" Type="${NS_REL}/worksheet" ` +
      `Target="worksheets/sheet${i + 1}.xml"/>`,
  ).join("");
  return `${XML_HEAD}<Relationships xmlns="${NS_PKG_REL}">${rels}` +
    `<Relationship Id="rId${count + 1}" Type="${NS_REL}/styles" Target="styles.xml"/>` +
    `</Relationships>`;
}

function worksheet(sheet: Sheet): string {
  const parts: string[] = [`${XML_HEAD}<worksheet xmlns="${NS_MAIN}">`];
  // The header stays in view while scrolling.
  parts.push(
    `<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" ` +
      `activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>`,
  );
  parts.push(row(1, sheet.columns, (_, i) => sheet.columns[i], 1));
  sheet.rows.forEach((record, i) => {
    parts.push(row(i + 2, sheet.columns, (column) => record[column], 0));
  });
  parts.push(`</sheetData></worksheet>`);
  return parts.join("");
}

function row(
  index: number,
  columns: readonly string[],
  valueOf: (column: string, i: number) => unknown,
  style: 0 | 1,
): string {
  const cells = columns.map((column, i) =>
    cell(`${columnName(i)}${index}`, valueOf(column, i), style)
  );
  return `<row r="${index}">${cells.join("")}</row>`;
}

/** One cell: numbers as numbers, booleans as booleans, the rest as inline text. */
function cell(ref: string, value: unknown, style: 0 | 1): string {
  const attrs = `r="${ref}"${style === 1 ? ' s="1"' : ""}`;
  if (value === null || value === undefined || value === "") return `<c ${attrs}/>`;
  if (typeof value === "number" && Number.isFinite(value)) return `<c ${attrs}><v>${value}</v></c>`;
  if (typeof value === "boolean") return `<c ${attrs} t="b"><v>${value ? 1 : 0}</v></c>`;
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  const cut = text.length > MAX_CELL_CHARS ? text.slice(0, MAX_CELL_CHARS) : text;
  return `<c ${attrs} t="inlineStr"><is><t xml:space="preserve">${escapeXml(cut)}</t></is></c>`;
}

/** A, B, ..., Z, AA, AB, ... for column `i` (from 0). */
export function columnName(i: number): string {
  let name = "";
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  }
  return name;
}

/** Text escaped for XML, without the characters XML 1.0 cannot hold. */
export function escapeXml(text: string): string {
  return text
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function uniqueNames(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((raw, i) => {
    let name = raw.replace(/[[\]:*?/\\]/g, "_").slice(0, 31) || `Sheet${i + 1}`;
    if (used.has(name.toLowerCase())) name = `${name.slice(0, 27)} (${i + 1})`;
    used.add(name.toLowerCase());
    return name;
  });
}

/**
 * A small Excel workbook (.xlsx) writer: one sheet per table, a bold header
 * row, numbers as numbers, everything else as inline strings (times as ISO
 * text, objects as JSON). The OOXML package is zipped by {@linkcode zip}
 * (deflate through `CompressionStream("deflate-raw")`, CRC-32).
 *
 * @module
 */

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

const encoder = new TextEncoder();

/** The workbook of `sheets` as .xlsx bytes. */
export async function toXlsx(sheets: readonly Sheet[]): Promise<Uint8Array> {
  if (sheets.length === 0) throw new RangeError("A workbook needs at least one sheet, got none");
  const names = uniqueNames(sheets.map((s) => s.name));
  const files: { name: string; text: string }[] = [
    { name: "[Content_Types].xml", text: contentTypes(sheets.length) },
    { name: "_rels/.rels", text: ROOT_RELS },
    { name: "xl/workbook.xml", text: workbook(names) },
    { name: "xl/_rels/workbook.xml.rels", text: workbookRels(sheets.length) },
    { name: "xl/styles.xml", text: STYLES },
    ...sheets.map((sheet, i) => ({
      name: `xl/worksheets/sheet${i + 1}.xml`,
      text: worksheet(sheet),
    })),
  ];
  return await zip(files.map((f) => ({ name: f.name, data: encoder.encode(f.text) })));
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

// ---- zip -------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE, as zip and gzip use it) of `data`. */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A zip archive of `files`, each deflated (no zip64: fine below 4 GiB). */
export async function zip(
  files: readonly { name: string; data: Uint8Array }[],
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  // 1980-01-01 00:00: the same bytes for the same content.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const file of files) {
    const name = encoder.encode(file.name);
    const compressed = await deflateRaw(file.data);
    const crc = crc32(file.data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true); // version needed: 2.0 (deflate)
    local.setUint16(6, 0x0800, true); // UTF-8 names
    local.setUint16(8, 8, true); // deflate
    local.setUint16(10, dosTime, true);
    local.setUint16(12, dosDate, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, compressed.length, true);
    local.setUint32(22, file.data.length, true);
    local.setUint16(26, name.length, true);
    local.setUint16(28, 0, true);
    const entry = new DataView(new ArrayBuffer(46));
    entry.setUint32(0, 0x02014b50, true);
    entry.setUint16(4, 20, true); // made by: 2.0
    entry.setUint16(6, 20, true);
    entry.setUint16(8, 0x0800, true);
    entry.setUint16(10, 8, true);
    entry.setUint16(12, dosTime, true);
    entry.setUint16(14, dosDate, true);
    entry.setUint32(16, crc, true);
    entry.setUint32(20, compressed.length, true);
    entry.setUint32(24, file.data.length, true);
    entry.setUint16(28, name.length, true);
    entry.setUint32(42, offset, true); // extra, comment, disk, attributes: 0
    chunks.push(new Uint8Array(local.buffer), name, compressed);
    central.push(new Uint8Array(entry.buffer), name);
    offset += 30 + name.length + compressed.length;
  }
  const centralSize = central.reduce((sum, c) => sum + c.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  const all = [...chunks, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of all) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

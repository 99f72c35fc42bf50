import assert from "node:assert/strict";
import { join } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { columnName, toXlsx } from "./xlsx.ts";

/** Reads an .xlsx with Python's zipfile and ElementTree (an independent reader): every part parsed. */
const READER = `
import json, sys, zipfile, xml.etree.ElementTree as ET
ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
for name in z.namelist():
    if name.endswith(".xml") or name.endswith(".rels"):
        ET.fromstring(z.read(name))
wb = ET.fromstring(z.read("xl/workbook.xml"))
out = {}
for i, sheet in enumerate(wb.find("m:sheets", ns)):
    rows = []
    for row in ET.fromstring(z.read(f"xl/worksheets/sheet{i + 1}.xml")).iter(f"{{{ns['m']}}}row"):
        cells = []
        for c in row:
            t = c.get("t")
            if t == "inlineStr":
                cells.append([c.get("r"), "s", "".join(x.text or "" for x in c.iter(f"{{{ns['m']}}}t"))])
            elif c.find("m:v", ns) is None:
                cells.append([c.get("r"), "empty", None])
            elif t == "b":
                cells.append([c.get("r"), "b", c.find("m:v", ns).text == "1"])
            else:
                cells.append([c.get("r"), "n", float(c.find("m:v", ns).text)])
        rows.append(cells)
    out[sheet.get("name")] = rows
print(json.dumps({"names": z.namelist(), "sheets": out}))
`;

async function read(bytes: Uint8Array) {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon_xlsx_" });
  try {
    const file = join(dir, "book.xlsx");
    await Deno.writeFile(file, bytes);
    const unzip = await new Deno.Command("unzip", { args: ["-t", file], stdout: "piped" }).output();
    assert.equal(unzip.code, 0, new TextDecoder().decode(unzip.stdout));
    const out = await new Deno.Command("python3", { args: ["-c", READER, file], stdout: "piped" })
      .output();
    assert.equal(out.code, 0);
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("columnName() counts A to Z, then AA, AB, ...", () => {
  assert.deepEqual([0, 25, 26, 27, 701, 702].map(columnName), ["A", "Z", "AA", "AB", "ZZ", "AAA"]);
});

Deno.test("toXlsx() zips the OOXML parts, the same bytes for the same content", () => {
  const sheets = [
    { name: "a & b", columns: ["n"], rows: [{ n: 1 }] },
    { name: "second", columns: ["t"], rows: [{ t: "x<y" }] },
  ];
  const bytes = toXlsx(sheets);
  assert.deepEqual(toXlsx(sheets), bytes);
  const parts = Object.fromEntries(
    Object.entries(unzipSync(bytes)).map(([name, data]) => [name, strFromU8(data)]),
  );
  assert.deepEqual(Object.keys(parts), [
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
    "xl/worksheets/sheet1.xml",
    "xl/worksheets/sheet2.xml",
  ]);
  for (const [name, text] of Object.entries(parts)) {
    assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'), name);
  }
  assert.match(parts["[Content_Types].xml"], /<Override PartName="\/xl\/worksheets\/sheet2\.xml"/);
  assert.match(parts["_rels/.rels"], /Target="xl\/workbook\.xml"/);
  assert.match(
    parts["xl/workbook.xml"],
    /<sheets><sheet name="a &amp; b" sheetId="1" r:id="rId1"\/><sheet name="second" sheetId="2" r:id="rId2"\/><\/sheets>/,
  );
  assert.match(
    parts["xl/_rels/workbook.xml.rels"],
    /Id="rId3" Type="[^"]+\/styles" Target="styles\.xml"/,
  );
  assert.match(parts["xl/styles.xml"], /<cellXfs count="2">/);
  assert.match(
    parts["xl/worksheets/sheet1.xml"],
    /<row r="1"><c r="A1" s="1" t="inlineStr"><is><t xml:space="preserve">n<\/t><\/is><\/c><\/row><row r="2"><c r="A2"><v>1<\/v><\/c><\/row>/,
  );
  assert.match(parts["xl/worksheets/sheet2.xml"], /<t xml:space="preserve">x&lt;y<\/t>/);
});

Deno.test("toXlsx() writes a valid package: a header row, numbers as numbers, text escaped", async () => {
  const bytes = toXlsx([{
    name: "events",
    columns: ["at", "seq", "ok", "script", "data"],
    rows: [
      {
        at: "2026-12-01T10:00:00.000Z",
        seq: 7,
        ok: true,
        script: "<img src=x onerror=alert(1)> & co",
        data: { a: 1 },
      },
      { at: "2026-12-01T10:00:01.000Z", seq: 8.5, ok: false, script: null, data: "bell\u0007" },
    ],
  }, { name: "uptime/7d", columns: ["ratio"], rows: [{ ratio: 0.995 }] }]);
  const book = await read(bytes);
  assert.ok(book.names.includes("[Content_Types].xml"));
  assert.deepEqual(Object.keys(book.sheets), ["events", "uptime_7d"]);
  assert.deepEqual(book.sheets.events, [
    [["A1", "s", "at"], ["B1", "s", "seq"], ["C1", "s", "ok"], ["D1", "s", "script"], [
      "E1",
      "s",
      "data",
    ]],
    [
      ["A2", "s", "2026-12-01T10:00:00.000Z"],
      ["B2", "n", 7],
      ["C2", "b", true],
      ["D2", "s", "<img src=x onerror=alert(1)> & co"],
      ["E2", "s", '{"a":1}'],
    ],
    [
      ["A3", "s", "2026-12-01T10:00:01.000Z"],
      ["B3", "n", 8.5],
      ["C3", "b", false],
      ["D3", "empty", null],
      ["E3", "s", "bell"],
    ],
  ]);
  assert.deepEqual(book.sheets.uptime_7d, [[["A1", "s", "ratio"]], [["A2", "n", 0.995]]]);
});

Deno.test("toXlsx() of many rows stays a valid workbook", async () => {
  const rows = Array.from({ length: 5000 }, (_, i) => ({ n: i, text: `row ${i} ü` }));
  const book = await read(toXlsx([{ name: "big", columns: ["n", "text"], rows }]));
  assert.equal(book.sheets.big.length, 5001);
  assert.deepEqual(book.sheets.big[5000], [["A5001", "n", 4999], ["B5001", "s", "row 4999 ü"]]);
});

Deno.test("toXlsx() needs a sheet", () => {
  assert.throws(() => toXlsx([]), new RangeError("A workbook needs at least one sheet, got none"));
});

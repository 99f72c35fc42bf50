import assert from "node:assert/strict";
import type { Dataset, ExportSource, Row } from "./dataset.ts";
import { encodeRows, exportStream } from "./encode.ts";

async function* rowsOf(rows: Row[]): AsyncGenerator<Row> {
  for (const row of rows) yield row;
}

async function text(chunks: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

const ROWS: Row[] = [
  { site: "BFI4", title: 'rates is "down", again', ratio: 0.5 },
  { site: "SEA8", title: "=cmd()", ratio: null },
];

Deno.test("CSV has the header row, then a row per record, quoted where needed", async () => {
  const chunks = await text(encodeRows(["site", "title", "ratio"], rowsOf(ROWS), "csv"));
  assert.equal(
    chunks.join(""),
    'site,title,ratio\r\nBFI4,"rates is ""down"", again",0.5\r\nSEA8,\'=cmd(),\r\n',
  );
  assert.deepEqual(await text(encodeRows(["site"], rowsOf([]), "csv")), ["site\r\n"]);
});

Deno.test("JSON lines have one object per row, keys in column order, null for what is missing", async () => {
  const counted = { rows: 0 };
  const lines = (await text(encodeRows(["ratio", "site"], rowsOf(ROWS), "jsonl", counted))).join(
    "",
  );
  assert.equal(lines, '{"ratio":0.5,"site":"BFI4"}\n{"ratio":null,"site":"SEA8"}\n');
  assert.equal(counted.rows, 2);
  assert.deepEqual(await text(encodeRows(["site"], rowsOf([]), "jsonl")), []);
});

Deno.test("a long export comes in chunks of about 64 KiB that join to the whole", async () => {
  const rows = Array.from({ length: 5000 }, (_, n) => ({ n, text: "x".repeat(40) }));
  const chunks = await text(encodeRows(["n", "text"], rowsOf(rows), "jsonl"));
  assert.ok(chunks.length > 2 && chunks.every((c) => c.length < 70 * 1024), `${chunks.length}`);
  const lines = chunks.join("").trimEnd().split("\n");
  assert.deepEqual([lines.length, JSON.parse(lines[4999]).n], [5000, 4999]);
});

Deno.test("a read that fails part way errors the stream and is told, never a short export", async () => {
  const failing: Dataset = {
    name: "failing",
    description: "",
    window: "",
    allSites: false,
    columns: [{ name: "n", type: "integer", description: "" }],
    async *rows() {
      yield { n: 1 };
      throw new Error("the store went away");
    },
  };
  const told: unknown[] = [];
  const { body } = exportStream(failing, {} as ExportSource, { since: 0, until: 1 }, {
    format: "csv",
    onError: (error) => told.push(error),
  });
  await assert.rejects(new Response(body).text(), { message: "the store went away" });
  assert.deepEqual(told.map((e) => (e as Error).message), ["the store went away"]);
});

import assert from "node:assert/strict";
import { csvField, csvLine, toCsv } from "./csv.ts";

Deno.test("text a spreadsheet would run as a formula is shown as text; numbers stay numbers", () => {
  assert.equal(csvField('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  assert.equal(csvField("+1 555"), "'+1 555");
  assert.equal(csvField("@sum"), "'@sum");
  assert.equal(csvField(-5), "-5");
  assert.equal(csvField("plain, text"), '"plain, text"');
  assert.equal(toCsv(["a"], [{ a: "-x" }]), "a\r\n'-x\r\n");
});

Deno.test("csvLine() writes the header without a row and one row's cells with it", () => {
  assert.equal(csvLine(["a", "b"]), "a,b\r\n");
  assert.equal(csvLine(["a", "b"], { b: "x,y", a: null }), ',"x,y"\r\n');
});

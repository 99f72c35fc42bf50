import assert from "node:assert/strict";
import { formatTable } from "./table.ts";

Deno.test("formatTable() pads columns to the widest cell and shows null as -", () => {
  const text = formatTable(["NAME", "STATE", "PID"], [["rates", "running", 12], ["x", null, 3456]]);
  assert.equal(text, "NAME   STATE    PID\nrates  running  12\nx      -        3456");
});

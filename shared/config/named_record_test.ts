import assert from "node:assert/strict";
import { z } from "zod";
import { namedRecord } from "./named_record.ts";

Deno.test("namedRecord() refuses bad and reserved names, each at its own path, all at once", () => {
  const scripts = namedRecord(z.object({ command: z.string() }), "script", {
    reserved: { all: "`all` names every script" },
  });
  const result = scripts.safeParse({
    ok: { command: "x" },
    "bad name": { command: "x" },
    all: { command: "x" },
  });
  assert.equal(result.success, false);
  assert.deepEqual(result.error!.issues.map((i) => [i.path.join("."), i.message]), [
    ["bad name", 'expected a script name of letters, digits, "_" and "-", got "bad name"'],
    ["all", '"all" cannot name a script: `all` names every script'],
  ]);
});

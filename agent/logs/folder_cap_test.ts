import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { capLogFolder } from "./folder_cap.ts";

Deno.test("the log folder is kept under its cap: oldest rotated logs first, current files never", async () => {
  await using dir = await tempDir("scriptmon-log-cap-");
  const file = (name: string, bytes: number) =>
    Deno.writeFile(join(dir.path, name), new Uint8Array(bytes));
  await file("rates.log", 300); // being written
  await file("agent.log", 200);
  await file("rates.20261201T080000.000Z.log", 100);
  await file("loads.20261130T235959.999Z.log", 100); // the oldest, another script's
  await file("rates.20261202T080000.000Z.log", 100);
  await file("rates.20261202T080000.000Z-1.log", 100);

  assert.deepEqual(await capLogFolder(dir.path, 1000), { deleted: [], bytes: 900 });
  const { deleted, bytes } = await capLogFolder(dir.path, 700);
  assert.deepEqual(deleted, ["loads.20261130T235959.999Z.log", "rates.20261201T080000.000Z.log"]);
  assert.equal(bytes, 700);
  // Under a cap smaller than the current files: every rotated file goes, the current ones stay.
  assert.deepEqual((await capLogFolder(dir.path, 100)).deleted, [
    "rates.20261202T080000.000Z.log",
    "rates.20261202T080000.000Z-1.log",
  ]);
  const left = [];
  for await (const entry of Deno.readDir(dir.path)) left.push(entry.name);
  assert.deepEqual(left.sort(), ["agent.log", "rates.log"]);
});

Deno.test("a log folder that does not exist yet is nothing to cap", async () => {
  assert.deepEqual(await capLogFolder("/nonexistent/scriptmon-logs", 1), { deleted: [], bytes: 0 });
});

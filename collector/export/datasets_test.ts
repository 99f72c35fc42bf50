import assert from "node:assert/strict";
import { datasetNames, DATASETS, findDataset } from "./datasets.ts";

Deno.test("the datasets are the four of the docs, found by name", () => {
  assert.equal(datasetNames(), "uptime_days, incidents, notifications, config_changes");
  assert.equal(findDataset("incidents")?.name, "incidents");
  assert.equal(findDataset("kv"), undefined);
  assert.deepEqual(DATASETS.filter((d) => d.allSites).map((d) => d.name), ["config_changes"]);
});

Deno.test("every column is snake_case, described in one line, and once in its dataset", () => {
  for (const dataset of DATASETS) {
    const names = dataset.columns.map((c) => c.name);
    assert.equal(new Set(names).size, names.length, `${dataset.name}: a column twice`);
    for (const column of dataset.columns) {
      const where = `${dataset.name}.${column.name}`;
      assert.match(column.name, /^[a-z][a-z0-9_]*$/, where);
      assert.ok(column.description.length > 0 && !column.description.includes("\n"), where);
    }
  }
});

import assert from "node:assert/strict";
import { FLOORS, isMetric, METRIC_NAMES, METRICS } from "./metrics.ts";

Deno.test("every metric has a spec and a floor, and only messages look down", () => {
  assert.deepEqual(Object.keys(METRICS), [...METRIC_NAMES]);
  assert.deepEqual(Object.keys(FLOORS), [...METRIC_NAMES]);
  assert.deepEqual(
    METRIC_NAMES.filter((metric) => METRICS[metric].direction === "low"),
    ["messages"],
  );
});

Deno.test("isMetric() knows the five metric names", () => {
  assert.equal(isMetric("memory"), true);
  assert.equal(isMetric("cpu"), false);
  assert.equal(isMetric(3), false);
});

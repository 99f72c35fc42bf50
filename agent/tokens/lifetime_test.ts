import assert from "node:assert/strict";
import { LifetimeModel } from "./lifetime.ts";

const HOUR = 3600_000;

Deno.test("a learned lifetime predicts within 10% after three observed lifetimes", () => {
  const model = new LifetimeModel();
  assert.equal(model.predict(), null);
  for (const observed of [0.97 * HOUR, 1.04 * HOUR, 1.0 * HOUR]) model.observe(observed);
  const prediction = model.predict()!;
  assert.ok(Math.abs(prediction.lifetimeMs - HOUR) <= 0.1 * HOUR, `${prediction.lifetimeMs}`);
  assert.equal(prediction.observations, 3);
  assert.ok(prediction.confidence > 0.6 && prediction.confidence < 1, `${prediction.confidence}`);
});

Deno.test("the confidence grows with observations and falls with their spread", () => {
  const one = new LifetimeModel([HOUR]).predict()!;
  const three = new LifetimeModel([HOUR, HOUR, HOUR]).predict()!;
  const scattered = new LifetimeModel([0.2 * HOUR, HOUR, 3 * HOUR]).predict()!;
  assert.ok(one.confidence < three.confidence);
  assert.ok(scattered.confidence < three.confidence);
});

Deno.test("lifetimes shorter than a second are not counted; at most ten are kept", () => {
  const model = new LifetimeModel();
  assert.equal(model.observe(200), false);
  for (let i = 1; i <= 12; i++) model.observe(i * 1000);
  assert.deepEqual(model.observations(), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => n * 1000));
});

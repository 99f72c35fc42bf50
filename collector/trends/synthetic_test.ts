import assert from "node:assert/strict";
import { localHour } from "./local_hour.ts";
import { poisson, postsInHour, seeded, SHAPES } from "./synthetic.ts";

Deno.test("seeded() repeats its numbers for the same seed", () => {
  const a = seeded(7);
  const b = seeded(7);
  const first = [a(), a(), a()];
  assert.deepEqual([b(), b(), b()], first);
  assert.ok(first.every((n) => n >= 0 && n < 1));
  assert.notDeepEqual([seeded(8)(), seeded(8)(), seeded(8)()], first);
});

Deno.test("poisson() averages its mean, small and large", () => {
  const random = seeded(3);
  for (const mean of [0.5, 4, 40]) {
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += poisson(random, mean);
    assert.ok(Math.abs(sum / 20_000 - mean) < 0.05 * mean + 0.02, `mean ${mean}: ${sum / 20_000}`);
  }
});

Deno.test("postsInHour() gives the same posts for the same seed and hour, inside the hour", () => {
  const hour = localHour("Europe/Berlin", Date.UTC(2026, 0, 6, 9));
  const posts = postsInHour(SHAPES.bursty, 5, hour);
  assert.deepEqual(postsInHour(SHAPES.bursty, 5, hour), posts);
  assert.ok(posts.length > 0);
  assert.ok(posts.every((at, i) => at >= hour.start && (i === 0 || at >= posts[i - 1])));
  assert.equal(postsInHour(SHAPES.clockwork, 5, hour).length, 4);
});

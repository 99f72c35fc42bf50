import assert from "node:assert/strict";
import { formatScope, parseScope, reaches } from "./scopes.ts";

Deno.test("parseScope() reads fleet, site and agent scopes and formats them back", () => {
  for (const text of ["fleet", "site:FC1", "agent:FC1/ws-01.fc"]) {
    assert.equal(formatScope(parseScope(text)), text);
  }
});

Deno.test("parseScope() refuses anything else, naming the text", () => {
  assert.throws(
    () => parseScope("site:"),
    new RangeError(
      'Invalid scope "site:": expected "fleet", "site:<site>" or "agent:<site>/<host>"',
    ),
  );
  assert.throws(() => parseScope("agent:FC1"), RangeError);
  assert.throws(() => parseScope("agent:FC1/ws 1"), RangeError);
});

Deno.test("reaches(): the fleet reaches all, a site its agents, an agent itself", () => {
  assert.ok(reaches(parseScope("fleet"), "FC2", "ws-9"));
  assert.ok(reaches(parseScope("site:FC1"), "FC1", "ws-9"));
  assert.ok(!reaches(parseScope("site:FC1"), "FC2", "ws-1"));
  assert.ok(reaches(parseScope("agent:FC1/ws-1"), "FC1", "ws-1"));
  assert.ok(!reaches(parseScope("agent:FC1/ws-1"), "FC1", "ws-2"));
  assert.ok(!reaches(parseScope("agent:FC1/ws-1"), "FC2", "ws-1"));
});

import assert from "node:assert/strict";
import { formatScope, parseScope, reaches, scopesOf } from "./scopes.ts";

Deno.test("parseScope() reads fleet, environment, site and agent scopes and formats them back", () => {
  for (const text of ["fleet", "env:staging", "site:FC1", "agent:FC1/ws-01.fc"]) {
    assert.equal(formatScope(parseScope(text)), text);
  }
});

Deno.test("parseScope() refuses anything else, naming the text", () => {
  assert.throws(
    () => parseScope("site:"),
    new RangeError(
      'Invalid scope "site:": expected "fleet", "env:<environment>", "site:<site>" or ' +
        '"agent:<site>/<host>"',
    ),
  );
  assert.throws(() => parseScope("agent:FC1"), RangeError);
  assert.throws(() => parseScope("agent:FC1/ws 1"), RangeError);
});

Deno.test("reaches(): the fleet reaches all, an environment its agents, a site its agents, an agent itself", () => {
  const ws1 = { site: "FC1", host: "ws-1", environment: "prod" };
  assert.ok(reaches(parseScope("fleet"), { site: "FC2", host: "ws-9" }));
  assert.ok(reaches(parseScope("env:prod"), ws1));
  assert.ok(!reaches(parseScope("env:staging"), ws1));
  assert.ok(!reaches(parseScope("env:prod"), { site: "FC1", host: "ws-1" }));
  assert.ok(reaches(parseScope("site:FC1"), ws1));
  assert.ok(!reaches(parseScope("site:FC1"), { site: "FC2", host: "ws-1" }));
  assert.ok(reaches(parseScope("agent:FC1/ws-1"), ws1));
  assert.ok(!reaches(parseScope("agent:FC1/ws-1"), { site: "FC1", host: "ws-2" }));
  assert.ok(!reaches(parseScope("agent:FC1/ws-1"), { site: "FC2", host: "ws-1" }));
});

Deno.test("scopesOf(): fleet, its environment (when it has one), site, agent", () => {
  assert.deepEqual(scopesOf({ site: "FC1", host: "ws-1", environment: "prod" }).map(formatScope), [
    "fleet",
    "env:prod",
    "site:FC1",
    "agent:FC1/ws-1",
  ]);
  assert.deepEqual(scopesOf({ site: "FC1", host: "ws-1" }).map(formatScope), [
    "fleet",
    "site:FC1",
    "agent:FC1/ws-1",
  ]);
});

import assert from "node:assert/strict";
import { interpolate, unsetVariables } from "./interpolate.ts";

Deno.test("interpolate() replaces ${VAR} from vars", () => {
  assert.deepEqual(interpolate("https://${HOST}/x?t=${TOKEN}", { HOST: "h", TOKEN: "t" }), {
    value: "https://h/x?t=t",
    problems: [],
  });
});

Deno.test("interpolate() uses the fallback of ${VAR:-fallback} when unset or empty", () => {
  assert.equal(interpolate("${A:-one}-${B:-two}-${C:-}", { B: "" }).value, "one-two-");
  assert.equal(interpolate("${A:-one}", { A: "set" }).value, "set");
});

Deno.test("interpolate() reads $${ as a literal ${ and leaves other dollars alone", () => {
  assert.deepEqual(interpolate("$${HOME} $RANDOM $$ cost$", {}), {
    value: "${HOME} $RANDOM $$ cost$",
    problems: [],
  });
});

Deno.test("interpolate() names every missing variable", () => {
  assert.deepEqual(interpolate("${A}${B}", {}).problems, [
    'environment variable A is not set (referenced as "${A}")',
    'environment variable B is not set (referenced as "${B}")',
  ]);
});

Deno.test("interpolate() reports an unterminated reference and a bad name", () => {
  assert.deepEqual(interpolate("x${A", {}).problems, ['unterminated "${" in "x${A"']);
  assert.deepEqual(interpolate("${1A}", {}).problems, ['invalid variable name "1A" in "${1A}"']);
});

Deno.test("unsetVariables() names each unset ${VAR} without a fallback once", () => {
  assert.deepEqual(
    unsetVariables("${A} ${B:-b} $${C} ${D} ${A} ${SET} ${1x}", { SET: "" }),
    ["A", "D"],
  );
});

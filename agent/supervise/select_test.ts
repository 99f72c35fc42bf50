import assert from "node:assert/strict";
import { NoMatchError, selectScripts } from "./select.ts";

const NAMES = ["rates", "rates_dock", "token_monitor", "a.b"];

Deno.test("selectScripts() takes a plain name as itself and refuses an unknown one by name", () => {
  assert.deepEqual(selectScripts("rates", NAMES), ["rates"]);
  assert.throws(() => selectScripts("rate", NAMES), {
    name: "NoMatchError",
    message: 'No script named "rate" in the config (known: rates, rates_dock, token_monitor, a.b)',
  });
});

Deno.test("selectScripts() reads all as every script and globs with * and ?", () => {
  assert.deepEqual(selectScripts("all", NAMES), NAMES);
  assert.deepEqual(selectScripts("rates*", NAMES), ["rates", "rates_dock"]);
  assert.deepEqual(selectScripts("*_monitor", NAMES), ["token_monitor"]);
  assert.deepEqual(selectScripts("rate?", NAMES), ["rates"]);
  // Other regex characters are literal.
  assert.deepEqual(selectScripts("a.b", NAMES), ["a.b"]);
  assert.throws(() => selectScripts("a.?x", NAMES), NoMatchError);
  assert.throws(() => selectScripts("nothing*", []), {
    message: 'No script matches "nothing*" in the config (known: none)',
  });
});

import assert from "node:assert/strict";
import { describeJsonValue, describeValue, editDistance, unknownKeyMessage } from "./wording.ts";

Deno.test("describeValue() quotes strings, names tables, shows arrays and cuts long text", () => {
  assert.equal(describeValue("soon"), '"soon"');
  assert.equal(describeValue({ a: 1 }), "a table");
  assert.equal(describeValue(["a", 1]), '["a",1]');
  assert.equal(describeValue(undefined), "nothing");
  assert.equal(describeValue("x".repeat(100)).length, 80);
});

Deno.test("describeJsonValue() names objects and arrays the way JSON calls them", () => {
  assert.equal(describeJsonValue({ a: 1 }), "an object");
  assert.equal(describeJsonValue(["a", 1]), "an array");
  assert.equal(describeJsonValue([]), "[]");
  assert.equal(describeJsonValue(-1), "-1");
  assert.equal(describeJsonValue(undefined), "nothing");
});

Deno.test("unknownKeyMessage() hints the closest known key, or lists them all", () => {
  assert.equal(editDistance("comand", "command"), 1);
  assert.equal(
    unknownKeyMessage("comand", ["command", "cwd"]),
    'unknown key "comand"; did you mean "command"?',
  );
  assert.equal(
    unknownKeyMessage("zzz", ["command", "cwd"]),
    'unknown key "zzz"; expected one of command, cwd',
  );
});

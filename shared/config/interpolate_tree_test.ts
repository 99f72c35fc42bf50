import assert from "node:assert/strict";
import { interpolateTree } from "./interpolate_tree.ts";
import { encryptSecret, generateKey, parseKey } from "./secrets.ts";
import { clearSecrets, redact } from "../redact.ts";

Deno.test("interpolateTree() fills every string of tables and arrays, leaving the input as it was", () => {
  const input = { a: { url: "${HOST}/x", list: ["${HOST}", 5] }, n: 1 };
  const result = interpolateTree(input, { vars: { HOST: "https://h" } });
  assert.deepEqual(result, {
    value: { a: { url: "https://h/x", list: ["https://h", 5] }, n: 1 },
    problems: [],
    unknown: [],
  });
  assert.equal(input.a.url, "${HOST}/x");
});

Deno.test("interpolateTree() reports each problem at the key path of its string", () => {
  const result = interpolateTree({ a: ["ok", "${MISSING}"], b: { c: "enc:v1:abc" } }, { vars: {} });
  assert.deepEqual(result.problems.map((p) => p.path), ["a.1", "b.c"]);
  assert.match(result.problems[0].message, /MISSING is not set/);
  assert.match(result.problems[1].message, /no key/);
});

Deno.test("interpolateTree() decrypts enc:v1: values and registers secrets for redaction", () => {
  clearSecrets();
  const text = generateKey();
  const key = parseKey(text, "test");
  const sealed = encryptSecret("hunter2-hunter2", key);
  const result = interpolateTree(
    { webhooks: { ops: { url: "https://hooks.example/T0/B0/secret-path" } }, s: sealed },
    { vars: {}, secretKey: key },
  );
  assert.equal(result.value.s, "hunter2-hunter2");
  assert.equal(redact("hunter2-hunter2"), "[redacted]");
  assert.equal(redact("https://hooks.example/T0/B0/secret-path"), "[redacted]");
  clearSecrets();
});

Deno.test('interpolateTree() with unresolved: "unknown" lists an unset ${VAR} and a keyless enc:v1: value as unknown, not as problems', () => {
  const result = interpolateTree(
    {
      a: ["${SET}", "${UNSET}/x", "${UNSET:-fallback}"],
      b: { c: "enc:v1:abc", url: "${HOOK}" },
      d: "${1bad}",
    },
    { vars: { SET: "set" }, unresolved: "unknown" },
  );
  // Unknown values become stand-ins the schema takes (a URL where the key is one).
  assert.deepEqual(result.value, {
    a: ["set", "unknown", "fallback"],
    b: { c: "unknown", url: "https://unknown.invalid/" },
    d: "",
  });
  assert.deepEqual(result.unknown, ["a.1", "b.c", "b.url"]);
  assert.deepEqual(result.problems, [
    { path: "d", message: 'invalid variable name "1bad" in "${1bad}"' },
  ]);
});

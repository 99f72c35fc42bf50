import assert from "node:assert/strict";
import { generateKey, parseKey, SecretError } from "./secrets.ts";
import { hasSealedValues, sealSecrets, unsealText } from "./seal_text.ts";

const key = parseKey(generateKey(), "test");
const text = [
  "# the ops channel",
  "[webhooks.ops]",
  'kind = "slack"',
  'url = "https://hooks.slack.com/services/T0/B0/secret"',
  "headers = { Authorization = 'Bearer abc' }",
  "",
  "[scripts.rates]",
  'command = "python3 rates.py"',
  "",
].join("\n");

Deno.test("sealSecrets() encrypts webhook URLs and header values, keeping the rest of the text", () => {
  const sealed = sealSecrets(text, key);
  assert.ok(!sealed.includes("hooks.slack.com"), sealed);
  assert.ok(!sealed.includes("Bearer abc"), sealed);
  assert.match(sealed, /^url = "enc:v1:[A-Za-z0-9_-]+"$/m);
  assert.ok(sealed.startsWith('# the ops channel\n[webhooks.ops]\nkind = "slack"\n'));
  assert.ok(sealed.includes('command = "python3 rates.py"'));
  assert.ok(hasSealedValues(sealed));
});

Deno.test("unsealText() gives back the same values", () => {
  const unsealed = unsealText(sealSecrets(text, key), key);
  assert.ok(unsealed.includes('url = "https://hooks.slack.com/services/T0/B0/secret"'));
  assert.ok(unsealed.includes('Authorization = "Bearer abc"'));
});

Deno.test("sealSecrets() leaves sealed values and a bare ${VAR} alone, but seals a URL around one", () => {
  const once = sealSecrets(text, key);
  assert.equal(sealSecrets(once, key), once);
  const withVar = '[webhooks.ops]\nkind = "teams"\nurl = "${TEAMS_URL}"\n';
  assert.equal(sealSecrets(withVar, key), withVar);
  const mixed =
    '[webhooks.ops]\nkind = "slack"\nurl = "https://hooks.example/T0/SECRET?e=${ENV}"\n';
  const sealed = sealSecrets(mixed, key);
  assert.ok(!sealed.includes("SECRET"), sealed);
  assert.equal(unsealText(sealed, key), mixed);
});

Deno.test("sealSecrets() refuses a secret it cannot find in the text, naming its key", () => {
  const multiline = '[webhooks.ops]\nkind = "slack"\nurl = """\nhttps://x"""\n';
  assert.throws(
    () => sealSecrets(multiline, key),
    new SyntaxError(
      'Cannot encrypt the secret at webhooks.ops.url: write it on one line as a plain "..." string',
    ),
  );
});

Deno.test("unsealText() with another key fails with SecretError", () => {
  const other = parseKey(generateKey(), "other");
  assert.throws(() => unsealText(sealSecrets(text, key), other), SecretError);
});

Deno.test("sealSecrets() keeps the ciphertext of an unchanged secret from the previous text", () => {
  const first = sealSecrets(text, key);
  const edited = unsealText(first, key).replace("python3 rates.py", "python3 rates2.py");
  const second = sealSecrets(edited, key, { previous: first });
  assert.equal(second, first.replace("python3 rates.py", "python3 rates2.py"));
});

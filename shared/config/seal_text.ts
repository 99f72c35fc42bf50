/**
 * Secrets of a config document kept encrypted in its text. The collector
 * stores central config documents with every secret value (a webhook's URL,
 * password, tokens and header values: {@linkcode isSecretPath}) replaced by
 * its `enc:v1:` value, so the text can be shown, diffed and stored without
 * revealing one; it unseals a document only to hand it to an agent.
 *
 * The text is edited in place (comments and layout stay): a plain value is
 * found as the string literal TOML wrote it (`"..."` with JSON escapes, or
 * `'...'`), and the result is parsed again to prove nothing else changed.
 *
 * @module
 */

import { parseToml } from "./parse_toml.ts";
import { decryptSecret, encryptSecret, isEncrypted, isSecretPath } from "./secrets.ts";

type Table = Record<string, unknown>;

/** An `enc:v1:` value written as a TOML string, in either quote. */
const ENCRYPTED_LITERAL = /"enc:v1:[A-Za-z0-9_-]+"|'enc:v1:[A-Za-z0-9_-]+'/g;

/** A value that only names a variable (`${OPS_URL}`): nothing secret in it to seal. */
const ONLY_A_VARIABLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/** The plain secret values of a parsed document with their key paths. */
export function plainSecrets(tree: Table): { path: string; value: string }[] {
  const found: { path: string; value: string }[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (typeof value === "string") {
      if (isSecretPath(path) && !isEncrypted(value) && !ONLY_A_VARIABLE.test(value)) {
        found.push({ path: path.join("."), value });
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, [...path, String(index)]));
    } else if (typeof value === "object" && value !== null && !(value instanceof Date)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, [...path, key]);
    }
  };
  walk(tree, []);
  return found;
}

/**
 * `text` with its plain secret values encrypted under `key`. A value that
 * `previous` (an earlier sealed text) holds keeps its ciphertext there, so
 * that a diff shows only what changed.
 *
 * @throws {ConfigError} when the text is not TOML.
 * @throws {SyntaxError} when a secret is written in a way this cannot find in the text
 *   (a multi-line string, say), naming its key path.
 */
export function sealSecrets(
  text: string,
  key: Uint8Array,
  options: { file?: string; previous?: string } = {},
): string {
  const file = options.file ?? "document";
  const tree = parseToml(text, file);
  const secrets = plainSecrets(tree);
  if (secrets.length === 0) return text;
  const known = sealedValues(options.previous ?? "", key);
  let sealed = text;
  for (const { value } of secrets) {
    const encrypted = JSON.stringify(known.get(value) ?? encryptSecret(value, key));
    for (const literal of [JSON.stringify(value), `'${value}'`]) {
      sealed = sealed.replaceAll(literal, encrypted);
    }
  }
  const check = parseToml(sealed, file);
  const left = plainSecrets(check);
  if (left.length > 0 || JSON.stringify(revealTree(check, key)) !== JSON.stringify(tree)) {
    const where = left[0]?.path ?? secrets[0].path;
    throw new SyntaxError(
      `Cannot encrypt the secret at ${where}: write it on one line as a plain "..." string`,
    );
  }
  return sealed;
}

/**
 * `text` with every `enc:v1:` string decrypted under `key`, written back as a
 * `"..."` string.
 *
 * @throws {SecretError} when a value was made with another key or was changed.
 */
export function unsealText(text: string, key: Uint8Array): string {
  return text.replace(
    ENCRYPTED_LITERAL,
    (literal) => JSON.stringify(decryptSecret(literal.slice(1, -1), key)),
  );
}

/** Whether `text` holds an `enc:v1:` string. */
export function hasSealedValues(text: string): boolean {
  return new RegExp(ENCRYPTED_LITERAL.source).test(text);
}

/** The plain text of each `enc:v1:` string in `text` that `key` opens, to its ciphertext. */
function sealedValues(text: string, key: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  for (const [literal] of text.matchAll(ENCRYPTED_LITERAL)) {
    const value = literal.slice(1, -1);
    try {
      out.set(decryptSecret(value, key), value);
    } catch {
      // Made with another key: not reused.
    }
  }
  return out;
}

/** A parsed tree with its `enc:v1:` strings decrypted. */
function revealTree(value: unknown, key: Uint8Array): unknown {
  if (typeof value === "string") return isEncrypted(value) ? decryptSecret(value, key) : value;
  if (Array.isArray(value)) return value.map((item) => revealTree(item, key));
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, inner]) => [k, revealTree(inner, key)]),
    );
  }
  return value;
}

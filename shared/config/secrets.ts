/**
 * Secrets at rest: a config value written as `enc:v1:<base64url>` is
 * AES-256-GCM ciphertext (12-byte IV, then the 16-byte tag, then the
 * ciphertext; the additional data is `scriptmon:v1`) under a 32-byte key.
 * The key comes from the environment: `SCRIPTMON_SECRET_KEY` (the key in
 * base64) or `SCRIPTMON_SECRET_KEY_FILE` (a file holding it, readable only
 * by its user). Both programs' `secret encrypt` make such values; their
 * config loaders decrypt them (synchronously, with `node:crypto`, so that
 * parsing stays synchronous) and register the plain text for redaction.
 *
 * This module opens nothing itself: the key file is read by the caller's
 * functions passed to {@linkcode resolveSecretKey}.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { registerSecret } from "../redact.ts";

/** What an encrypted value starts with. */
export const ENCRYPTED_PREFIX = "enc:v1:";
/** The variable holding the key (base64). */
export const KEY_ENV = "SCRIPTMON_SECRET_KEY";
/** The variable naming a file that holds the key. */
export const KEY_FILE_ENV = "SCRIPTMON_SECRET_KEY_FILE";

const AAD = Buffer.from("scriptmon:v1");
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key, a value or a key file that cannot be used; the message says which and why. */
export class SecretError extends Error {
  override name = "SecretError";
}

/**
 * Whether a config needs the key: an `enc:v1:` value in its text, or in a
 * variable it may refer to (`url = "${OPS_WEBHOOK}"`).
 */
export function needsKey(
  text: string,
  vars: Readonly<Record<string, string | undefined>>,
): boolean {
  if (text.includes(ENCRYPTED_PREFIX)) return true;
  // Only the variables the text names (`${NAME}` or `${NAME:-fallback}`).
  const named = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
  return named.some((name) => vars[name]?.startsWith(ENCRYPTED_PREFIX));
}

/** Whether `value` is an `enc:v1:` value. */
export function isEncrypted(value: string): boolean {
  return value.startsWith(ENCRYPTED_PREFIX);
}

/** A fresh random key, as base64 text (what the key file or variable holds). */
export function generateKey(): string {
  return randomBytes(32).toString("base64");
}

/**
 * The 32-byte key in `text` (base64 or base64url; surrounding space ignored).
 *
 * @throws {SecretError} naming `where` when it is not 32 bytes of base64.
 */
export function parseKey(text: string, where: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
    ? Buffer.from(trimmed.replaceAll("-", "+").replaceAll("_", "/"), "base64")
    : Buffer.alloc(0);
  if (bytes.length !== 32) {
    throw new SecretError(
      `${where}: expected a 32-byte key in base64 (44 characters, as "secret keygen" prints), ` +
        `got ${trimmed.length} characters`,
    );
  }
  return new Uint8Array(bytes);
}

/** `plain` encrypted under `key` as an `enc:v1:` value. */
export function encryptSecret(plain: string, key: Uint8Array): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  const packed = Buffer.concat([iv, cipher.getAuthTag(), body]);
  return ENCRYPTED_PREFIX + packed.toString("base64url");
}

/**
 * The plain text of an `enc:v1:` value.
 *
 * @throws {SecretError} when it is malformed, or the key is not the one it was made with.
 */
export function decryptSecret(value: string, key: Uint8Array): string {
  if (!isEncrypted(value)) {
    throw new SecretError(`expected a value starting with ${ENCRYPTED_PREFIX}`);
  }
  const packed = Buffer.from(value.slice(ENCRYPTED_PREFIX.length), "base64url");
  if (packed.length < IV_BYTES + TAG_BYTES) {
    throw new SecretError(`the ${ENCRYPTED_PREFIX} value is cut short (${packed.length} bytes)`);
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, packed.subarray(0, IV_BYTES));
    decipher.setAAD(AAD);
    decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]);
    return plain.toString("utf8");
  } catch (error) {
    throw new SecretError(
      `cannot decrypt the ${ENCRYPTED_PREFIX} value: it was made with another key, or it was changed`,
      { cause: error },
    );
  }
}

/** How {@linkcode resolveSecretKey} reads the environment and the key file. */
export interface KeySource {
  env(name: string): string | undefined;
  readFile(path: string): Promise<string>;
  /** The file's permission bits, or null where there are none (Windows). */
  fileMode(path: string): Promise<number | null>;
}

/**
 * The key from `SCRIPTMON_SECRET_KEY`, else from the file `SCRIPTMON_SECRET_KEY_FILE`
 * names (refused when group or others may read it); null when neither is set.
 *
 * @throws {SecretError} naming the variable or file and what is wrong with it.
 */
export async function resolveSecretKey(source: KeySource): Promise<Uint8Array | null> {
  const inline = source.env(KEY_ENV);
  if (inline !== undefined && inline !== "") {
    const key = parseKey(inline, KEY_ENV);
    registerSecret(inline.trim());
    return key;
  }
  const path = source.env(KEY_FILE_ENV);
  if (path === undefined || path === "") return null;
  let text: string;
  try {
    text = await source.readFile(path);
  } catch (error) {
    throw new SecretError(
      `${KEY_FILE_ENV}: cannot read the key file "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  const mode = await source.fileMode(path);
  if (mode !== null && (mode & 0o077) !== 0) {
    throw new SecretError(
      `${KEY_FILE_ENV}: the key file "${path}" may be read by others (mode ${
        (mode & 0o777).toString(8)
      }); chmod 600 it`,
    );
  }
  const key = parseKey(text, `key file "${path}"`);
  registerSecret(text.trim());
  return key;
}

const WEBHOOK_SECRET_KEYS = new Set([
  "url",
  "secret",
  "password",
  "auth_token",
  "secret_access_key",
  "session_token",
]);

/**
 * Whether the config value at `path` is a secret to redact wherever it
 * shows: a webhook's URL, password, tokens and header values, and the
 * agent's collector token.
 */
export function isSecretPath(path: readonly string[]): boolean {
  const last = path.at(-1) ?? "";
  if (path[0] === "webhooks") return WEBHOOK_SECRET_KEYS.has(last) || path.includes("headers");
  return path[0] === "collector" && last === "token";
}

/**
 * A config string after `${VAR}` interpolation: an `enc:v1:` value is
 * decrypted with `key`. Returns the value or the problem, in words.
 */
export function revealValue(
  value: string,
  key: Uint8Array | null,
): { value: string; problem?: string } {
  if (!isEncrypted(value)) return { value };
  if (key === null) {
    return {
      value: "",
      problem: `an ${ENCRYPTED_PREFIX} value, but no key: set ${KEY_ENV} or ${KEY_FILE_ENV}`,
    };
  }
  try {
    return { value: decryptSecret(value, key) };
  } catch (error) {
    return { value: "", problem: (error as Error).message };
  }
}

/**
 * Password hashing for the collector's users: PBKDF2-SHA256 through
 * WebCrypto at OWASP's 600,000 iterations, a 16-byte random salt per
 * password, and a constant-time comparison. The iteration count is kept
 * with each hash, so raising it later leaves old hashes verifiable.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";

/** OWASP's recommendation for PBKDF2-HMAC-SHA256 (2023). */
export const PBKDF2_ITERATIONS = 600_000;

/** A stored password hash. */
export interface PasswordHash {
  algorithm: "pbkdf2-sha256";
  iterations: number;
  /** Base64 salt (16 bytes). */
  salt: string;
  /** Base64 derived key (32 bytes). */
  hash: string;
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** Hashes `password` with a fresh random salt. */
export async function hashPassword(
  password: string,
  options: { iterations?: number } = {},
): Promise<PasswordHash> {
  const iterations = options.iterations ?? PBKDF2_ITERATIONS;
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return { algorithm: "pbkdf2-sha256", iterations, salt: toBase64(salt), hash: toBase64(hash) };
}

/** Whether `password` matches `stored`; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = fromBase64(stored.hash);
  const actual = await derive(password, fromBase64(stored.salt), stored.iterations);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Bearer tokens: 32 random bytes, base64url, with a prefix saying what the
 * token is for (`smag_` agent, `smapi_` API). Only the SHA-256 hash is
 * stored; the token itself is shown once, when created.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** What a token lets its holder do. */
export type TokenKind = "agent" | "api";

const PREFIX: Record<TokenKind, string> = { agent: "smag_", api: "smapi_" };

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A new random token of `kind`. */
export function generateToken(kind: TokenKind): string {
  return PREFIX[kind] + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The hex SHA-256 of `token`, as stored (synchronous: it runs on every request). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

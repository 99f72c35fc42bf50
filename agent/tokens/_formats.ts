/**
 * Pure parsers of the token formats: a JWT's claims, a Netscape (curl)
 * cookie file, a dotted path into JSON, and an instant written as epoch
 * seconds, epoch milliseconds or an ISO time. They throw `SyntaxError` for
 * text that does not parse; no message ever quotes a token's value.
 *
 * @module
 */

/** The claims of a JWT that say when it lives. */
export interface JwtTimes {
  /** Epoch ms of `exp`, or null when the token has none. */
  expiresAt: number | null;
  /** Epoch ms of `iat`, or null. */
  issuedAt: number | null;
}

/** Reads `exp` and `iat` of a compact JWT (header.payload.signature); the signature is not checked. */
export function jwtTimes(token: string): JwtTimes {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || parts[1] === "") {
    throw new SyntaxError("expected a JWT (three base64url parts separated by dots)");
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(base64UrlDecode(parts[1])));
  } catch {
    throw new SyntaxError("expected a JWT whose payload is base64url-encoded JSON");
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new SyntaxError("expected a JWT whose payload is a JSON object");
  }
  const seconds = (key: string) => {
    const value = (claims as Record<string, unknown>)[key];
    if (value === undefined) return null;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new SyntaxError(`expected the JWT claim "${key}" to be a number of seconds`);
    }
    return Math.round(value * 1000);
  };
  return { expiresAt: seconds("exp"), issuedAt: seconds("iat") };
}

function base64UrlDecode(text: string): Uint8Array {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** One cookie of a Netscape cookie file. */
export interface FileCookie {
  domain: string;
  path: string;
  name: string;
  value: string;
  /** Epoch ms, or null for a session cookie (expiry 0). */
  expiresAt: number | null;
}

/** Every cookie of a Netscape/curl cookie file (`#HttpOnly_` lines included, comments skipped). */
export function parseCookieFile(text: string): FileCookie[] {
  const cookies: FileCookie[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    let line = raw;
    if (line.startsWith("#HttpOnly_")) line = line.slice("#HttpOnly_".length);
    else if (line.startsWith("#") || line.trim() === "") continue;
    const fields = line.split("\t");
    if (fields.length < 7) {
      throw new SyntaxError(
        `expected a Netscape cookie line of 7 tab-separated fields at line ${
          index + 1
        }, got ${fields.length}`,
      );
    }
    const [domain, , path, , expiry, name, ...rest] = fields;
    const seconds = Number(expiry);
    if (!/^\d+$/.test(expiry.trim()) || !Number.isFinite(seconds)) {
      // Not quoted: in a garbled line this field may hold the cookie's value.
      throw new SyntaxError(
        `expected an expiry in epoch seconds in field 5 at line ${index + 1}, got ${
          describe(expiry)
        }`,
      );
    }
    cookies.push({
      domain,
      path,
      name,
      value: rest.join("\t"),
      expiresAt: seconds === 0 ? null : seconds * 1000,
    });
  }
  return cookies;
}

/** The value at a dotted path (`a.b.0.c`) of parsed JSON, or undefined. */
export function jsonAt(value: unknown, path: string): unknown {
  let at = value;
  for (const part of path.split(".")) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * An instant as epoch ms: a number (seconds when below 1e11, else ms), a
 * string of digits (the same), or an ISO 8601 time.
 */
export function parseInstant(value: unknown): number {
  if (typeof value === "number" && Number.isFinite(value)) {
    return Math.round(value < 1e11 ? value * 1000 : value);
  }
  if (typeof value === "string") {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return parseInstant(Number(text));
    const ms = Date.parse(text);
    if (/^\d{4}-\d\d-\d\d/.test(text) && Number.isFinite(ms)) return ms;
  }
  throw new SyntaxError(
    `expected a time as epoch seconds, epoch milliseconds or ISO 8601, got ${describe(value)}`,
  );
}

/** A value's shape for a message: the text itself is never quoted (it may be a secret). */
function describe(value: unknown): string {
  if (typeof value === "string") return `a string of ${value.length} characters`;
  if (typeof value === "number") return String(value);
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
}

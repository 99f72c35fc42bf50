/**
 * Reads a token as its `format` says: its value (kept in memory for the
 * validation only) and what it states about its expiry. A file that cannot
 * be read, or does not hold what the format expects, throws a `TokenReadError`
 * whose message names the file and the problem, never the value.
 *
 * @module
 */
import { jsonAt, jwtTimes, parseCookieFile, parseInstant } from "./_formats.ts";
import { runCommand } from "./_command.ts";
import type { ResolvedToken } from "./types.ts";

/** A token could not be read, or its file does not hold what its format expects. */
export class TokenReadError extends Error {
  override name = "TokenReadError";
}

/** What one read found. */
export interface TokenReading {
  /** The secret itself: for the validation request only, never shown. Null for `exec`. */
  value: string | null;
  /** Stated expiry (epoch ms), or null when the token does not state one. */
  expiresAt: number | null;
  /** When this token was issued, as far as it says (iat, issued field, the file's mtime). */
  issuedAt: number | null;
  /** The file's modification time (epoch ms), or null for `exec`. */
  mtime: number | null;
}

/** Reads `token` once. */
export async function readToken(token: ResolvedToken): Promise<TokenReading> {
  if (token.format === "exec") return await readExec(token);
  const file = token.file!;
  let text: string;
  let mtime: number | null;
  try {
    const stat = await Deno.stat(file);
    mtime = stat.mtime?.getTime() ?? null;
    text = await Deno.readTextFile(file);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "does not exist"
      : `cannot be read (${error instanceof Error ? error.message : error})`;
    throw new TokenReadError(`Token "${token.name}": file ${file} ${why}`, { cause: error });
  }
  const fail = (problem: string) => {
    throw new TokenReadError(`Token "${token.name}": file ${file}: ${problem}`);
  };
  try {
    switch (token.format) {
      case "jwt": {
        const value = text.trim();
        const times = jwtTimes(value);
        return { value, ...times, mtime };
      }
      case "cookie": {
        const matches = parseCookieFile(text).filter((c) => c.name === token.cookie);
        if (matches.length === 0) return fail(`no cookie named "${token.cookie}"`);
        // Several domains may hold it: the one that lives longest counts.
        const best = matches.reduce((a, b) =>
          (b.expiresAt ?? Infinity) > (a.expiresAt ?? Infinity) ? b : a
        );
        return { value: best.value, expiresAt: best.expiresAt, issuedAt: mtime, mtime };
      }
      case "json": {
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch {
          return fail("expected JSON");
        }
        const field = (path: string | undefined, what: string) => {
          if (path === undefined) return null;
          const found = jsonAt(data, path);
          if (found === undefined || found === null) return fail(`no field "${path}" (${what})`);
          try {
            return parseInstant(found);
          } catch (error) {
            return fail(`field "${path}": ${(error as Error).message}`);
          }
        };
        const issuedAt = field(token.issuedField, "the issue time") ?? mtime;
        const stated = field(token.expiresField, "the expiry");
        const expiresAt = stated ??
          (token.issuedField !== undefined && token.lifetimeMs !== undefined && issuedAt !== null
            ? issuedAt + token.lifetimeMs
            : null);
        let value = text.trim();
        if (token.valueField !== undefined) {
          const found = jsonAt(data, token.valueField);
          if (typeof found !== "string") {
            return fail(`no string field "${token.valueField}" (the value)`);
          }
          value = found;
        }
        return { value, expiresAt, issuedAt, mtime };
      }
      case "mtime": {
        const expiresAt = mtime !== null && token.lifetimeMs !== undefined
          ? mtime + token.lifetimeMs
          : null;
        return { value: text.trim(), expiresAt, issuedAt: mtime, mtime };
      }
    }
  } catch (error) {
    if (error instanceof TokenReadError) throw error;
    return fail(lowerFirst(error));
  }
}

async function readExec(token: ResolvedToken): Promise<TokenReading> {
  const result = await runCommand(token.command!, {
    cwd: token.cwd,
    timeoutMs: Math.min(token.checkIntervalMs, 30_000),
  });
  const command = token.command![0];
  if (!result.ok) {
    throw new TokenReadError(`Token "${token.name}": command "${command}" failed: ${result.how}`);
  }
  const line = result.stdout.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "") ?? "";
  try {
    return { value: null, expiresAt: parseInstant(line), issuedAt: null, mtime: null };
  } catch (error) {
    throw new TokenReadError(
      `Token "${token.name}": command "${command}" printed no expiry: ${lowerFirst(error)}`,
    );
  }
}

function lowerFirst(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.charAt(0).toLowerCase() + message.slice(1);
}

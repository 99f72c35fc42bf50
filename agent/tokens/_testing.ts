/**
 * Test pieces for tokens: a fake clock, JWTs signed with a test key
 * (WebCrypto HMAC), Netscape cookie files, a token config with quick
 * defaults, and a local server that accepts only the tokens it is told.
 *
 * @module
 */
import { resolve } from "node:path";
import { FakeClock as SharedFakeClock } from "../../shared/notify/_outbox_testing.ts";
import type { ResolvedToken, TokenStatus } from "./types.ts";

/** The outbox tests' fake clock, starting on the tokens tests' morning. */
export class FakeClock extends SharedFakeClock {
  constructor(start = Date.parse("2026-12-01T08:00:00Z")) {
    super(start);
  }
}

const KEY_BYTES = new TextEncoder().encode("scriptmon-test-signing-key");

/** A compact JWT (HS256, signed with the test key) carrying `claims`. */
export async function signJwt(claims: Record<string, unknown>): Promise<string> {
  const part = (value: unknown) => base64Url(new TextEncoder().encode(JSON.stringify(value)));
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    KEY_BYTES,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body));
  return `${body}.${base64Url(new Uint8Array(signature))}`;
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** A Netscape cookie file holding `cookies` (expiry in epoch ms, null for a session cookie). */
export function cookieFile(
  cookies: { name: string; value: string; expiresAt: number | null; httpOnly?: boolean }[],
): string {
  const lines = ["# Netscape HTTP Cookie File", "# written by a scriptmon test", ""];
  for (const c of cookies) {
    const expiry = c.expiresAt === null ? 0 : Math.floor(c.expiresAt / 1000);
    const domain = `${c.httpOnly ? "#HttpOnly_" : ""}.example.com`;
    lines.push([domain, "TRUE", "/", "TRUE", expiry, c.name, c.value].join("\t"));
  }
  return lines.join("\n") + "\n";
}

/** A token config with quick test defaults. */
export function testToken(
  name: string,
  overrides: Partial<ResolvedToken> & Pick<ResolvedToken, "format">,
): ResolvedToken {
  return {
    name,
    cwd: Deno.cwd(),
    warnBeforeMs: [],
    usedBy: [],
    checkIntervalMs: 60_000,
    ...overrides,
  };
}

/** argv of the refresh fixture copying `source` over `target`. */
export function refreshCommand(source: string, target: string): string[] {
  const fixture = resolve(
    import.meta.dirname!,
    "..",
    "..",
    "tests",
    "fixtures",
    "token_refresh.ts",
  );
  return [Deno.execPath(), "run", "--allow-all", fixture, source, target];
}

/** A server on 127.0.0.1 answering 200 to a request carrying an accepted token, else 401. */
export class TokenServer implements AsyncDisposable {
  /** The tokens it takes, in `Authorization: Bearer <t>` or the cookie `session=<t>`. */
  readonly accepted = new Set<string>();
  /** Every token it was shown, in order. */
  readonly seen: string[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const bearer = req.headers.get("authorization")?.replace(/^Bearer /, "");
      const cookie = req.headers.get("cookie")?.match(/(?:^|; )session=([^;]*)/)?.[1];
      const token = bearer ?? cookie ?? "";
      this.seen.push(token);
      return new Response(null, { status: this.accepted.has(token) ? 200 : 401 });
    });
  }

  /** The URL to validate against. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/whoami`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

/** Resolves once `check()` holds, trying after every turn of the event loop; rejects after `ms`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | null | false,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A token's status with plain defaults (valid, 2 h left, used by "rates"), for rendering tests. */
export function tokenStatus(name: string, overrides: Partial<TokenStatus> = {}): TokenStatus {
  return {
    name,
    format: "jwt",
    state: "valid",
    reason: "expires in 2h",
    expiresAt: "2026-03-02T12:00:00.000Z",
    secondsLeft: 7200,
    predicted: false,
    confidence: 1,
    warning: null,
    usedBy: ["rates"],
    validatedAt: null,
    validationOk: null,
    refresh: null,
    renewedAt: null,
    ...overrides,
  };
}

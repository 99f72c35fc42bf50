/**
 * Checks that a token still works: an HTTP request that carries it in a
 * header or a cookie and expects a status, or a command that gets it in
 * `SCRIPTMON_TOKEN` and exits 0. The reason never holds the value.
 *
 * @module
 */
import { runCommand } from "./_command.ts";
import type { ResolvedTokenValidate } from "./types.ts";
import { formatDuration } from "../../shared/config/units.ts";

/** One validation's outcome. */
export interface ValidationResult {
  ok: boolean;
  /** `HTTP 200`, `HTTP 401 (expected 200)`, `exit code 1`, `connection refused`. */
  reason: string;
  /**
   * The check gave no verdict on the token (the server could not be reached,
   * timed out): neither valid nor invalid.
   */
  unavailable?: boolean;
}

/** Validates `value` once, within the validation's timeout; never throws. */
export async function validateToken(
  validate: ResolvedTokenValidate,
  value: string | null,
  options: { signal?: AbortSignal } = {},
): Promise<ValidationResult> {
  if (validate.kind === "exec") {
    const result = await runCommand(validate.command, {
      cwd: validate.cwd,
      env: value === null ? {} : { SCRIPTMON_TOKEN: value },
      timeoutMs: validate.timeoutMs,
      signal: options.signal,
    });
    return { ok: result.ok, reason: redact(result.how, value) };
  }
  if (value === null) return { ok: false, reason: "the token has no value to send" };
  const headers = new Headers();
  try {
    if (validate.cookie !== undefined) headers.set("cookie", `${validate.cookie}=${value}`);
    else headers.set(validate.header ?? "authorization", `${validate.prefix}${value}`);
  } catch {
    // The runtime's error quotes the value: never shown.
    return {
      ok: false,
      reason: "the value cannot be sent in a header (a line break or a non-Latin-1 character)",
    };
  }
  const timeout = AbortSignal.timeout(validate.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const response = await fetch(validate.url, {
      method: validate.method,
      headers,
      signal,
      redirect: "manual",
    });
    await response.body?.cancel().catch(() => {});
    return response.status === validate.status
      ? { ok: true, reason: `HTTP ${response.status}` }
      : { ok: false, reason: `HTTP ${response.status} (expected ${validate.status})` };
  } catch (error) {
    if (timeout.aborted) {
      return {
        ok: false,
        unavailable: true,
        reason: `timed out after ${formatDuration(validate.timeoutMs)}`,
      };
    }
    if (options.signal?.aborted) return { ok: false, unavailable: true, reason: "aborted" };
    return { ok: false, unavailable: true, reason: redact(fetchFailure(error), value) };
  }
}

/** `connection refused`, `cannot resolve the host`, or the innermost message of a fetch error. */
function fetchFailure(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    messages.push(e.message);
  }
  const all = messages.join(" ");
  if (/connection refused/i.test(all)) return "connection refused";
  if (/dns error|failed to lookup/i.test(all)) return "cannot resolve the host";
  return `request failed: ${messages.at(-1) ?? String(error)}`;
}

/** `text` with every occurrence of `secret` replaced by `[redacted]`. */
export function redact(text: string, secret: string | null): string {
  if (secret === null || secret.length < 4) return text;
  return text.replaceAll(secret, "[redacted]");
}

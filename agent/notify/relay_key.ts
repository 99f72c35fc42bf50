/**
 * The dedupe key of a relayed post: the client's own `Idempotency-Key`, or a
 * hash of the webhook and the post's normalised content, so the same message
 * posted by two scripts (or twice by one) is delivered once.
 */

/** JSON with object keys sorted, so key order and whitespace do not make two posts differ. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The content of a post as compared for duplicates: canonical JSON, else trimmed text. */
export function normalizePost(body: string, contentType: string): string {
  if (/json/i.test(contentType) || /^\s*[{[]/.test(body)) {
    try {
      return canonicalJson(JSON.parse(body));
    } catch {
      // not JSON after all: compare it as text
    }
  }
  return body.replace(/\r\n/g, "\n").trim();
}

/** The outbox dedupe key of a relayed post to `webhook`. */
export async function relayKey(
  webhook: string,
  body: string,
  contentType: string,
  idempotencyKey?: string | null,
): Promise<string> {
  if (idempotencyKey) return `relay|${webhook}|key|${idempotencyKey.slice(0, 200)}`;
  const bytes = new TextEncoder().encode(`${webhook}\n${normalizePost(body, contentType)}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `relay|${webhook}|sha256|${hex}`;
}

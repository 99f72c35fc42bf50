/**
 * The process's secrets (webhook URLs, passwords, tokens, decrypted
 * `enc:v1:` values), registered when the config is loaded, and
 * {@linkcode redact}, which every log line, printed error and API answer
 * passes through so that none of them is ever shown.
 *
 * @module
 */

/** What a secret is replaced with. */
export const REDACTED = "[redacted]";

/** Shorter values are too likely to be ordinary words to be replaced everywhere. */
const MIN_LENGTH = 8;

const secrets = new Set<string>();
let ordered: string[] = [];

function escapedForms(value: string): string[] {
  const html = value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
  return [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), html];
}

/** Remembers `value` (and its JSON-, URL- and HTML-escaped forms) as a secret. */
export function registerSecret(value: string | undefined | null): void {
  if (value === undefined || value === null || value.length < MIN_LENGTH) return;
  const forms = escapedForms(value);
  let added = false;
  for (const form of forms) {
    if (!secrets.has(form)) {
      secrets.add(form);
      added = true;
    }
  }
  // Longest first, so that a secret inside another is not half-replaced.
  if (added) ordered = [...secrets].sort((a, b) => b.length - a.length);
}

/** `text` with every registered secret replaced by {@linkcode REDACTED}. */
export function redact(text: string): string {
  if (ordered.length === 0) return text;
  let out = text;
  for (const secret of ordered) {
    if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  }
  return out;
}

/** Forgets `value` (and its escaped forms): a token value replaced twice over. */
export function unregisterSecret(value: string | undefined | null): void {
  if (value === undefined || value === null) return;
  for (const form of escapedForms(value)) secrets.delete(form);
  ordered = [...secrets].sort((a, b) => b.length - a.length);
}

/** How many secrets are registered (for tests and the status). */
export function secretCount(): number {
  return secrets.size;
}

/** Forgets every secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
  ordered = [];
}

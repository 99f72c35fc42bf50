/**
 * How both programs word a value and an unknown key: `got "soon"`,
 * `got a table` (TOML) or `got an object` (JSON), `unknown key "comand";
 * did you mean "command"?`.
 *
 * @module
 */

/** A value as config messages show it: strings quoted, tables named, at most 80 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return "a table";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A value as JSON messages show it: strings quoted, objects and arrays named, at most 80 characters. */
export function describeJsonValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.length === 0 ? "[]" : "an array";
  if (typeof value === "object" && value !== null) return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The message for `key`, unknown where `known` are: the closest as a hint, else all of them. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const close = known.find((candidate) => editDistance(candidate, key) <= 2) ??
    known.find((candidate) => key.length >= 4 && candidate.startsWith(key));
  if (close !== undefined) return `unknown key ${JSON.stringify(key)}; did you mean "${close}"?`;
  if (known.length === 0) return `unknown key ${JSON.stringify(key)}`;
  return `unknown key ${JSON.stringify(key)}; expected one of ${known.join(", ")}`;
}

/** Levenshtein distance: single-character inserts, deletes and substitutions. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

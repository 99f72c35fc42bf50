/**
 * A small scan of TOML text that maps dotted key paths to the line that
 * defines them, for config error messages. It understands `[table]`,
 * `[[array.of.tables]]` (numbered 0, 1, ...) and `key = value` lines with
 * bare or quoted keys; anything cleverer (inline tables) maps to the
 * nearest enclosing key.
 *
 * @module
 */

const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/;
const ASSIGN = /^\s*([A-Za-z0-9_\-."' ]+?)\s*=/;

function splitKey(text: string): string[] {
  const parts: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|([^.\s]+)/g)) {
    parts.push(match[1] ?? match[2] ?? match[3]);
  }
  return parts;
}

/** Line (1-based) of each key path defined in `text`. */
export function scanKeyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let table: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const header = HEADER.exec(line);
    if (header) {
      const key = splitKey(header[2]);
      if (header[1] === "[[") {
        const base = key.join(".");
        const count = arrayCounts.get(base) ?? 0;
        arrayCounts.set(base, count + 1);
        table = [...key, String(count)];
      } else {
        table = key;
      }
      if (!lines.has(table.join("."))) lines.set(table.join("."), index + 1);
      return;
    }
    const assign = ASSIGN.exec(line);
    if (assign && !line.trimStart().startsWith("#")) {
      const path = [...table, ...splitKey(assign[1])].join(".");
      if (!lines.has(path)) lines.set(path, index + 1);
    }
  });
  return lines;
}

/** The line of `path` or of its nearest enclosing key found in `lines`. */
export function findLine(
  lines: ReadonlyMap<string, number>,
  path: readonly string[],
): number | undefined {
  for (let end = path.length; end > 0; end--) {
    const line = lines.get(path.slice(0, end).join("."));
    if (line !== undefined) return line;
  }
  return undefined;
}

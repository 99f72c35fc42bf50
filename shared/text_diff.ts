/**
 * A line diff of two texts in the unified format people know from `git diff`
 * (`@@ -3,4 +3,5 @@`, then ` `, `-` and `+` lines), for config versions: the
 * collector shows one before a change is accepted and for any two versions.
 * Longest common subsequence over lines; config documents are small (the
 * collector refuses ones past 60 KB), so the quadratic table is fine.
 *
 * @module
 */

/** One line of a diff: kept, removed from the old text, or added in the new. */
export interface DiffLine {
  kind: " " | "-" | "+";
  text: string;
}

/** Lines of `text`; a final newline ends the last line rather than starting one. */
function linesOf(text: string): string[] {
  if (text === "") return [];
  const lines = text.replaceAll("\r\n", "\n").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Every line of both texts, in order, marked kept, removed or added. */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = linesOf(before);
  const b = linesOf(after);
  // Common lines at both ends need no table.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  // lcs[i * (m + 1) + j]: the longest common run of a[start+i..] and b[start+j..].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[start + i] === b[start + j]
        ? lcs[(i + 1) * (m + 1) + j + 1] + 1
        : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const out: DiffLine[] = a.slice(0, start).map((text) => ({ kind: " ", text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      out.push({ kind: " ", text: a[start + i] });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i * (m + 1) + j + 1] >= lcs[(i + 1) * (m + 1) + j])) {
      out.push({ kind: "+", text: b[start + j++] });
    } else {
      out.push({ kind: "-", text: a[start + i++] });
    }
  }
  for (const text of a.slice(endA)) out.push({ kind: " ", text });
  // Removals before additions within a change reads best.
  return reorderChanges(out);
}

/** Within each run of changed lines, the removed ones first. */
function reorderChanges(lines: DiffLine[]): DiffLine[] {
  const out: DiffLine[] = [];
  let run: DiffLine[] = [];
  const flush = () => {
    out.push(...run.filter((l) => l.kind === "-"), ...run.filter((l) => l.kind === "+"));
    run = [];
  };
  for (const line of lines) {
    if (line.kind === " ") {
      flush();
      out.push(line);
    } else {
      run.push(line);
    }
  }
  flush();
  return out;
}

/**
 * The unified diff of two texts with `context` unchanged lines around each
 * change (default 3), headed `--- <from>` and `+++ <to>`; "" when they are equal.
 */
export function unifiedDiff(
  before: string,
  after: string,
  options: { from?: string; to?: string; context?: number } = {},
): string {
  const lines = diffLines(before, after);
  const context = options.context ?? 3;
  const changed = lines.map((l, index) => l.kind === " " ? -1 : index).filter((i) => i >= 0);
  if (changed.length === 0) return "";
  // Hunks: changed lines closer than twice the context share one.
  const hunks: [number, number][] = [];
  for (const index of changed) {
    const from = Math.max(0, index - context);
    const to = Math.min(lines.length, index + context + 1);
    const last = hunks.at(-1);
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else hunks.push([from, to]);
  }
  const out = [`--- ${options.from ?? "before"}`, `+++ ${options.to ?? "after"}`];
  for (const [from, to] of hunks) {
    const before = lines.slice(0, from);
    const oldStart = before.filter((l) => l.kind !== "+").length;
    const newStart = before.filter((l) => l.kind !== "-").length;
    const body = lines.slice(from, to);
    const oldCount = body.filter((l) => l.kind !== "+").length;
    const newCount = body.filter((l) => l.kind !== "-").length;
    out.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`);
    for (const line of body) out.push(`${line.kind}${line.text}`);
  }
  return `${out.join("\n")}\n`;
}

/** A hunk's range as diff writes it: 1-based start, count left out when 1. */
function range(start: number, count: number): string {
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

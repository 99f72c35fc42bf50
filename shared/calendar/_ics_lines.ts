/**
 * The content lines of an iCalendar text (RFC 5545 section 3.1): physical
 * lines split on CRLF or LF, folded lines (a continuation starts with a space
 * or a tab) joined, each split into name, parameters and value.
 *
 * @module
 */

/** One property: `NAME;PARAM=value:value`, numbered by its first physical line. */
export interface ContentLine {
  /** 1-based number of the first physical line. */
  line: number;
  /** Property name, upper case. */
  name: string;
  /** Parameters by upper-case name, quotes removed. */
  params: Map<string, string>;
  /** The value as written, escapes kept. */
  value: string;
}

/**
 * The properties of `text` with folded lines joined, each with the number of
 * its first physical line. Lines that are not `NAME[;PARAM=…]:value` are
 * skipped: some exporters break long DESCRIPTION text without folding it.
 */
export function* contentLines(text: string): Generator<ContentLine> {
  const physical = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  let logical: { line: number; text: string } | undefined;
  for (let index = 0; index <= physical.length; index += 1) {
    const next = physical[index];
    if (next !== undefined && logical !== undefined && /^[ \t]/.test(next)) {
      logical.text += next.slice(1);
      continue;
    }
    if (logical !== undefined) {
      const parsed = splitContentLine(logical.text);
      if (parsed !== undefined) yield { line: logical.line, ...parsed };
    }
    logical = next === undefined || next === "" ? undefined : { line: index + 1, text: next };
  }
}

function splitContentLine(
  text: string,
): { name: string; params: Map<string, string>; value: string } | undefined {
  const nameEnd = text.search(/[;:]/);
  if (nameEnd <= 0) return undefined;
  const params = new Map<string, string>();
  let at = nameEnd;
  while (text[at] === ";") {
    const equals = text.indexOf("=", at);
    const colon = text.indexOf(":", at);
    if (equals < 0 || (colon >= 0 && colon < equals)) return undefined;
    let end = equals + 1;
    while (end < text.length && text[end] !== ";" && text[end] !== ":") {
      if (text[end] === '"') {
        end = text.indexOf('"', end + 1);
        if (end < 0) return undefined;
      }
      end += 1;
    }
    const value = text.slice(equals + 1, end).replaceAll('"', "");
    params.set(text.slice(at + 1, equals).trim().toUpperCase(), value);
    at = end;
  }
  if (text[at] !== ":") return undefined;
  return { name: text.slice(0, nameEnd).trim().toUpperCase(), params, value: text.slice(at + 1) };
}

/**
 * Windows paths as people write them in TOML, checked for both programs.
 * In a double-quoted TOML string a backslash starts an escape: `"C:\fc\scripts"`
 * does not parse (`\s` is no escape), and `"C:\fc\new"` parses into a form
 * feed and a newline. `%LOCALAPPDATA%` is how cmd.exe names a variable, not
 * how a config does (`${LOCALAPPDATA}`). Each is an error that names the key
 * and line and says how to write the path: `'C:\fc\scripts'` (a literal
 * string keeps its backslashes) or `"C:/fc/scripts"`.
 *
 * What counts as a path is kept simple, so it is predictable: the value of a
 * key that names one (`cwd`, `file`, `path`, `tls_cert`, `tls_key`, and any
 * key ending in `_dir`, `_file` or `_path`), a string holding a drive path
 * (`C:` at its start or after a space, `=` or quote, followed by a slash, a
 * backslash or a control character), and, for `%VAR%`, a string starting with
 * `%NAME%\` or `%NAME%/`. Free text (a message, a body, an `-c` program) is
 * left alone unless it holds a drive path.
 *
 * @module
 */

import type { ConfigIssue } from "./config_error.ts";
import { findLine } from "./toml_lines.ts";

const PATH_KEY = /^(?:cwd|file|path|tls_cert|tls_key|.*_dir|.*_file|.*_path)$/;
// deno-lint-ignore no-control-regex
const DRIVE_PATH = /(?:^|[\s"'=])[A-Za-z]:[\\/\x00-\x1f]/;
const WINDOWS_VARIABLE = /%([A-Za-z_][A-Za-z0-9_]*)%/g;
const STARTS_WITH_VARIABLE = /^%[A-Za-z_][A-Za-z0-9_]*%(?:[\\/]|$)/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f]/g;

/** The TOML escape that made each control character, and its name. */
const ESCAPES: Record<string, [string, string]> = {
  "\b": ["\\b", "a backspace"],
  "\t": ["\\t", "a tab"],
  "\n": ["\\n", "a newline"],
  "\f": ["\\f", "a form feed"],
  "\r": ["\\r", "a carriage return"],
  "\x1b": ["\\e", "an escape character"],
};

/**
 * The problems of the Windows paths in `tables` (a parsed TOML document,
 * before interpolation), each at the line `lines` gives its key.
 */
export function windowsPathIssues(
  tables: Record<string, unknown>,
  lines: ReadonlyMap<string, number>,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const visit = (node: unknown, at: string[]): void => {
    if (typeof node === "string") {
      const message = pathProblem(node, lastKey(at));
      if (message !== undefined) {
        issues.push({ path: at.join("."), line: findLine(lines, at), message });
      }
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, [...at, String(index)]));
    } else if (typeof node === "object" && node !== null && !(node instanceof Date)) {
      for (const [key, inner] of Object.entries(node)) visit(inner, [...at, key]);
    }
  };
  visit(tables, []);
  return issues;
}

/**
 * What is wrong with `value` written at a key named `key`, as a message, or
 * undefined when nothing is: `"C:\fc\new" holds a form feed and a newline ...`.
 */
export function pathProblem(value: string, key: string | undefined): string | undefined {
  const isPath = (key !== undefined && PATH_KEY.test(key)) || DRIVE_PATH.test(value);
  const controls = isPath ? [...new Set(value.match(CONTROL) ?? [])] : [];
  const variables = isPath || STARTS_WITH_VARIABLE.test(value)
    ? [...new Set([...value.matchAll(WINDOWS_VARIABLE)].map((match) => match[0]))]
    : [];
  if (controls.length === 0 && variables.length === 0) return undefined;
  const written = value.replace(CONTROL, (char) => escapeOf(char));
  const reasons: string[] = [];
  if (controls.length > 0) {
    reasons.push(
      `holds ${listOf(controls.map((char) => nameOf(char)))}: in a double-quoted string ${
        listOf(controls.map((char) => `"${escapeOf(char)}"`))
      } ${controls.length === 1 ? "is an escape" : "are escapes"}, not part of a path`,
    );
  }
  if (variables.length > 0) {
    reasons.push(
      `names ${listOf(variables)} the cmd.exe way, which config files do not expand (they ` +
        `expand \${NAME})`,
    );
  }
  const meant = written.replace(WINDOWS_VARIABLE, "${$1}");
  return `"${written}" ${reasons.join("; it ")}; ${windowsPathAdvice(meant)}`;
}

/** How to write the Windows path `meant` in TOML: `write 'C:\fc' (...) or "C:/fc"`. */
export function windowsPathAdvice(meant: string): string {
  const slashes = `"${meant.replaceAll("\\", "/")}"`;
  if (meant.includes("'")) return `write ${slashes}`;
  return `write '${meant}' (single quotes keep backslashes) or ${slashes}`;
}

/**
 * The hint for a TOML syntax error on `line` (its text) when the line holds a
 * double-quoted string with a backslash before a letter, a Windows path
 * written as in Explorer; undefined otherwise.
 */
export function escapeHint(line: string): string | undefined {
  const found = /"([^"]*\\[A-Za-z][^"]*)/.exec(line);
  if (found === null) return undefined;
  const meant = found[1].replace(WINDOWS_VARIABLE, "${$1}");
  const variables = meant === found[1] ? "" : " (a variable in a config is ${NAME}, not %NAME%)";
  return `in a double-quoted string a backslash starts an escape, so a Windows path cannot be ` +
    `written "${found[1]}": ${windowsPathAdvice(meant)}${variables}`;
}

/** The last key of `path` that is not an array index. */
function lastKey(path: readonly string[]): string | undefined {
  return path.findLast((part) => !/^\d+$/.test(part));
}

function escapeOf(char: string): string {
  return ESCAPES[char]?.[0] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function nameOf(char: string): string {
  return ESCAPES[char]?.[1] ??
    `the control character U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** `a`, `a and b`, `a, b and c`. */
function listOf(items: readonly string[]): string {
  return items.length < 2
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/**
 * A config file's text parsed as TOML, its syntax error worded once for both
 * programs: `invalid TOML: invalid value (column 12)` at its line. The text
 * may come as Notepad saves it (a byte order mark, CRLF line ends): it parses
 * as the same file without them. A Windows path in a double-quoted string
 * (`"C:\fc\scripts"`: `\s` is no escape) gets its error the key and a hint.
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./config_error.ts";
import { normalizeConfigText } from "./config_text.ts";
import { scanKeyLines } from "./toml_lines.ts";
import { escapeHint } from "./windows_paths.ts";

/**
 * The tables of `text`, which came from `file`.
 *
 * @throws {ConfigError} at the line and column of a syntax error, the `TomlError` as its cause.
 */
export function parseToml(text: string, file: string): Record<string, unknown> {
  const normalized = normalizeConfigText(text);
  try {
    return parse(normalized);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    const message = `invalid TOML: ${reason} (column ${error.column})`;
    const hint = escapeHint(normalized.split("\n")[error.line - 1] ?? "");
    throw new ConfigError([{
      path: hint === undefined ? "" : keyOnLine(normalized, error.line),
      line: error.line,
      message: hint === undefined ? message : `${message}; ${hint}`,
    }], { file, cause: error });
  }
}

/**
 * The key defined on `line` of a document that did not parse, "" for none:
 * the deepest one, not counting array items (`command`, not `command.1`).
 */
function keyOnLine(text: string, line: number): string {
  let found = "";
  for (const [path, at] of scanKeyLines(text)) {
    const depth = path.split(".").length;
    if (
      at === line && !/\.\d+$/.test(path) && depth > (found === "" ? 0 : found.split(".").length)
    ) {
      found = path;
    }
  }
  return found;
}

/**
 * A config file's text parsed as TOML, its syntax error worded once for both
 * programs: `invalid TOML: invalid value (column 12)` at its line.
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./config_error.ts";

/**
 * The tables of `text`, which came from `file`.
 *
 * @throws {ConfigError} at the line and column of a syntax error, the `TomlError` as its cause.
 */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new ConfigError([{
      path: "",
      line: error.line,
      message: `invalid TOML: ${reason} (column ${error.column})`,
    }], { file, cause: error });
  }
}

/**
 * Helpers of the agent's config tests: parse a config text as if read from a
 * file, and the issues a bad one raises; the example config as the agent
 * loads it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, type ConfigIssue, parseConfig, type ParseConfigOptions } from "./parse.ts";

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The example config, which documents every key. */
export const EXAMPLE = join(ROOT, "config.example.toml");
/** The path config texts are parsed as. */
export const FILE = "/etc/scriptmon/config.toml";

/** Parses `text` as the config file at {@linkcode FILE}. */
export function parse(text: string, options: Omit<ParseConfigOptions, "path"> = {}) {
  return parseConfig(text, { path: FILE, vars: {}, ...options });
}

/** The issues of the ConfigError that `text` must raise. */
export function issuesOf(
  text: string,
  options: Omit<ParseConfigOptions, "path"> = {},
): ConfigIssue[] {
  try {
    parse(text, options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail("expected a ConfigError, got a valid config");
}

/** `text` as Notepad saves it: a UTF-8 byte order mark and CRLF line ends. */
export function notepad(text: string): string {
  return `\uFEFF${text.replaceAll("\n", "\r\n")}`;
}

/** Parses config.example.toml as the agent loads it (holiday files read from disk). */
export async function parseExample(
  options: { envName?: string; vars?: Record<string, string> } = {},
) {
  return parseConfig(await Deno.readTextFile(EXAMPLE), {
    path: EXAMPLE,
    vars: {},
    readText: Deno.readTextFileSync,
    ...options,
  });
}

/** Lines joined with newlines, a newline at the end. */
export function lines(...rows: string[]): string {
  return rows.join("\n") + "\n";
}

/** One minimal script table. */
export const SCRIPT = lines("[scripts.rates]", 'command = ["python3", "rates.py"]');

/**
 * Reads the agent's TOML config into a `ResolvedAgentConfig`, in one pass:
 * parse → Windows paths checked (`C:\fc\new` in a double-quoted string) →
 * pick the `[env.<name>]` overlay and deep-merge it → `${VAR}`
 * interpolation → schema validation → defaults, units and absolute paths.
 * Every problem found on the way is reported at once, each with its key path
 * and line, in one `ConfigError`.
 *
 * @module
 */

import { ConfigError, type ConfigIssue } from "../../shared/config/config_error.ts";
import { dirname, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { z } from "zod";
import { findLine, scanKeyLines } from "../../shared/config/toml_lines.ts";
import { parseToml } from "../../shared/config/parse_toml.ts";
import { interpolate } from "../../shared/config/interpolate.ts";
import { interpolateTree } from "../../shared/config/interpolate_tree.ts";
import { readConfigFile } from "../../shared/config/config_file.ts";
import { describeValue } from "../../shared/config/wording.ts";
import { describeIssue } from "../../shared/config/zod_issue.ts";
import { windowsPathIssues } from "../../shared/config/windows_paths.ts";
import { normalizeConfigText } from "../../shared/config/config_text.ts";
import { defaultDataDir } from "./default_paths.ts";
import { agentConfigSchema, NAME_PATTERN } from "./schema.ts";
import { AGENT_WORDING } from "./_wording.ts";
import { resolveConfig, resolvePath } from "./_resolve.ts";
import type { ResolvedAgentConfig } from "./types.ts";

export { ConfigError, type ConfigIssue } from "../../shared/config/config_error.ts";

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** The file the text came from: names it in errors and anchors relative paths. */
  path: string;
  /** The `[env.<name>]` overlay to apply (see {@linkcode envNameFrom}). */
  envName?: string;
  /** Variables for `${VAR}`; default `Deno.env.toObject()`. */
  vars?: Readonly<Record<string, string | undefined>>;
  /** The key of `enc:v1:` values; none: such a value is a problem. */
  secretKey?: Uint8Array | null;
  /** The OS whose default paths apply (`Deno.build.os` names); default this one. */
  os?: string;
}

/** Options of {@linkcode loadConfig}. */
export type LoadConfigOptions = Omit<ParseConfigOptions, "path">;

type Table = Record<string, unknown>;

/**
 * Parses, overlays, interpolates, validates and resolves config text.
 * Reads no files; `host` defaults to `Deno.hostname()`.
 *
 * @throws {ConfigError} listing every problem found.
 */
export function parseConfig(text: string, options: ParseConfigOptions): ResolvedAgentConfig {
  const file = options.path;
  const raw = parseToml(text, file);
  const lines = scanKeyLines(text);
  const issues: ConfigIssue[] = windowsPathIssues(raw, lines);
  const { merged, lineOf } = applyOverlay(raw, lines, options.envName, issues);
  if (merged === undefined) throw new ConfigError(issues, { file }); // unknown --env
  const vars = options.vars ?? Deno.env.toObject();
  const defaults = { defaultDataDir: defaultDataDir(options.os ?? Deno.build.os, vars) };
  const interpolated = interpolateTree(merged, { vars, secretKey: options.secretKey ?? null });
  for (const problem of interpolated.problems) {
    issues.push({ ...problem, line: lineOf(problem.path.split(".")) });
  }
  const failed = interpolated.problems.map((problem) => problem.path);
  const values = interpolated.value;
  const result = agentConfigSchema.safeParse(values, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const found of describeIssue(issue, { wording: AGENT_WORDING })) {
        if (failed.some((prefix) => found.path === prefix || found.path.startsWith(`${prefix}.`))) {
          continue; // already reported as a missing variable
        }
        issues.push({ ...found, line: lineOf(found.path.split(".")) });
      }
    }
  }
  if (!result.success) {
    // Problems that need defaults applied are found too, in what did validate.
    for (
      const issue of crossFieldIssues(values, result.error.issues, { ...options, ...defaults })
    ) {
      issues.push({ ...issue, line: lineOf(issue.path.split(".")) });
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, { file });
  const resolved = resolveConfig(result.data, {
    path: file,
    envName: options.envName,
    ...defaults,
  });
  if ("issues" in resolved) {
    throw new ConfigError(
      resolved.issues.map((issue) => ({ ...issue, line: lineOf(issue.path.split(".")) })),
      { file },
    );
  }
  return resolved.config;
}

/**
 * The problems the resolver finds (they need defaults applied: `max_delay`
 * below `min_delay`, a probe's timeout past its interval, `used_by` naming no
 * script) in the parts of `merged` that are valid: the keys the schema refused
 * are left out, a few rounds at most, so `validate` lists every error at once.
 */
function crossFieldIssues(
  merged: Table,
  refused: readonly z.core.$ZodIssue[],
  options: ParseConfigOptions & { defaultDataDir: string },
): { path: string; message: string }[] {
  const input = structuredClone(merged);
  const pruned: string[] = [];
  let issues = refused;
  for (let round = 0; round < 5; round++) {
    for (const issue of issues) {
      const paths = issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => [...issue.path.map(String), key])
        : [issue.path.map(String)];
      for (const path of paths) {
        const removed = prune(input, path);
        if (removed === null) return [];
        pruned.push(removed.join("."));
      }
    }
    const again = agentConfigSchema.safeParse(input);
    if (again.success) {
      const resolved = resolveConfig(again.data, {
        path: options.path,
        envName: options.envName,
        defaultDataDir: options.defaultDataDir,
      });
      if (!("issues" in resolved)) return [];
      const left = (path: string) => pruned.some((p) => path === p || path.startsWith(`${p}.`));
      return resolved.issues.filter((issue) => !left(issue.path));
    }
    issues = again.error.issues;
  }
  return [];
}

/**
 * Deletes the key at `path` in `table` (its parent's when the key is already
 * missing, as a required key is); returns the path deleted, null for none.
 */
function prune(table: Table, path: readonly string[]): string[] | null {
  if (path.length === 0) return null;
  let parent: unknown = table;
  for (const key of path.slice(0, -1)) {
    parent = isTable(parent) || Array.isArray(parent) ? (parent as Table)[key] : undefined;
  }
  const last = path[path.length - 1];
  if (isTable(parent) && last in parent) {
    delete parent[last];
    return [...path];
  }
  if (Array.isArray(parent) && Number(last) < parent.length) {
    parent.splice(Number(last), 1, undefined);
    return [...path];
  }
  return prune(table, path.slice(0, -1));
}

/**
 * Reads and parses a config file.
 *
 * @throws {ConfigError} when the file cannot be read or has problems.
 */
export async function loadConfig(
  path: string,
  options: LoadConfigOptions = {},
): Promise<ResolvedAgentConfig> {
  const { text, secretKey } = await readConfigFile(path, options, Deno);
  return parseConfig(text, { ...options, path, secretKey });
}

/** The overlay to apply: the `--env` flag wins, then `SCRIPTMON_ENV`, else none. */
export function envNameFrom(
  flag?: string,
  vars?: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (flag !== undefined && flag !== "") return flag;
  const fromVars = vars === undefined ? Deno.env.get("SCRIPTMON_ENV") : vars.SCRIPTMON_ENV;
  return fromVars === undefined || fromVars === "" ? undefined : fromVars;
}

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** Deep-merges `overlay` into `base` (tables merge; arrays and scalars replace). */
function mergeTables(base: Table, overlay: Table): Table {
  const merged: Table = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const under = merged[key];
    merged[key] = isTable(under) && isTable(value) ? mergeTables(under, value) : value;
  }
  return merged;
}

/** Checks the `[env.*]` tables, merges the chosen one, and maps paths to lines. */
function applyOverlay(
  raw: Table,
  lines: ReadonlyMap<string, number>,
  envName: string | undefined,
  issues: ConfigIssue[],
): { merged: Table | undefined; lineOf: (path: string[]) => number | undefined } {
  const { env, ...base } = raw;
  const overlays: Table = isTable(env) ? env : {};
  if (env !== undefined && !isTable(env)) {
    issues.push({
      path: "env",
      line: lines.get("env"),
      message: `expected [env.<name>] tables, got ${describeValue(env)}`,
    });
  }
  for (const [name, overlay] of Object.entries(overlays)) {
    const path = `env.${name}`;
    if (!NAME_PATTERN.test(name)) {
      issues.push({
        path,
        line: lines.get(path),
        message: `expected an environment name of letters, digits, "_" and "-", got ${
          JSON.stringify(name)
        }`,
      });
    } else if (!isTable(overlay)) {
      issues.push({
        path,
        line: lines.get(path),
        message: `expected a table [env.${name}], got ${describeValue(overlay)}`,
      });
    } else if ("env" in overlay) {
      issues.push({
        path: `${path}.env`,
        line: lines.get(`${path}.env`),
        message: "expected no [env] table inside an overlay, got one",
      });
    }
  }
  if (envName === undefined) {
    return { merged: base, lineOf: (path) => findLine(lines, path) };
  }
  const overlay = overlays[envName];
  if (!isTable(overlay)) {
    const known = Object.keys(overlays);
    issues.push({
      path: "env",
      line: lines.get("env"),
      message: `unknown environment ${JSON.stringify(envName)}: ${
        known.length === 0
          ? "this file has no [env.<name>] tables"
          : `expected one of ${known.map((name) => JSON.stringify(name)).join(", ")}`
      }`,
    });
    return { merged: undefined, lineOf: (path) => findLine(lines, path) };
  }
  const effective = new Map(lines);
  const prefix = `env.${envName}.`;
  for (const key of lines.keys()) {
    // An array the overlay sets replaces the base one: forget the base lines inside it.
    const path = key.slice(prefix.length);
    if (!key.startsWith(prefix) || !Array.isArray(valueAt(overlay, path.split(".")))) continue;
    for (const inner of effective.keys()) {
      if (inner.startsWith(`${path}.`)) effective.delete(inner);
    }
  }
  for (const [key, line] of lines) {
    if (!key.startsWith(prefix)) continue;
    const path = key.slice(prefix.length);
    if (!effective.has(path) || !isTable(valueAt(overlay, path.split(".")))) {
      effective.set(path, line);
    }
  }
  return { merged: mergeTables(base, overlay), lineOf: (path) => findLine(effective, path) };
}

function valueAt(table: unknown, path: string[]): unknown {
  let value = table;
  for (const key of path) {
    value = isTable(value) || Array.isArray(value) ? (value as Table)[key] : undefined;
  }
  return value;
}

/**
 * The data dir a config file names, read leniently (other problems in the
 * file are ignored), or null. Lets `status` and `stop` reach a running agent
 * while its config file has a broken edit.
 */
export function locateDataDir(text: string, options: ParseConfigOptions): string | null {
  const normalized = normalizeConfigText(text);
  let raw: Table;
  try {
    raw = parse(normalized);
  } catch (error) {
    // A syntax error: the part above it is usually enough to find [agent].
    if (!(error instanceof TomlError) || error.line <= 1) return null;
    return locateDataDir(normalized.split("\n").slice(0, error.line - 1).join("\n"), options);
  }
  const { merged } = applyOverlay(raw, new Map(), options.envName, []);
  const agent = isTable(merged?.agent) ? merged.agent : {};
  const vars = options.vars ?? Deno.env.toObject();
  const written = agent.data_dir ?? defaultDataDir(options.os ?? Deno.build.os, vars);
  if (typeof written !== "string") return null;
  const { value, problems } = interpolate(written, vars);
  if (problems.length > 0) return null;
  return resolvePath(dirname(resolve(options.path)), value);
}

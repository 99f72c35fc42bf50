/**
 * The agent's TOML config text into a `ResolvedAgentConfig`, in one pass:
 * parse → Windows paths checked (`C:\fc\new` in a double-quoted string) →
 * pick the `[env.<name>]` overlay and deep-merge it → merge each layer over
 * it (`layers.ts`) → `${VAR}` interpolation → schema validation → defaults,
 * units and absolute paths. Every problem found on the way is reported at
 * once, each with its key path and line (and the layer's name for a key a
 * layer set), in one `ConfigError`. Reads no file: the program reads the
 * config file, and passes in how holiday files are read.
 *
 * @module
 */

import { ConfigError, type ConfigIssue } from "../config/config_error.ts";
import { dirname, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { z } from "zod";
import { scanKeyLines } from "../config/toml_lines.ts";
import { parseToml } from "../config/parse_toml.ts";
import { interpolate } from "../config/interpolate.ts";
import { interpolateTree } from "../config/interpolate_tree.ts";
import { describeValue } from "../config/wording.ts";
import { describeIssue } from "../config/zod_issue.ts";
import { windowsPathIssues } from "../config/windows_paths.ts";
import { normalizeConfigText } from "../config/config_text.ts";
import { defaultDataDir } from "./default_paths.ts";
import { agentConfigSchema, NAME_PATTERN } from "./schema.ts";
import { AGENT_WORDING } from "./_wording.ts";
import { resolveConfig, resolvePath } from "./_resolve.ts";
import type { ResolvedAgentConfig } from "./types.ts";
import {
  findPlace,
  isTable,
  mergeTables,
  overlayPlaces,
  type Place,
  placesOf,
  type Table,
} from "./_merge.ts";
import { type ConfigLayer, isPinnedPath, withoutPinned } from "./layers.ts";

export { ConfigError, type ConfigIssue } from "../config/config_error.ts";

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** The file the text came from: names it in errors and anchors relative paths. */
  path: string;
  /** The `[env.<name>]` overlay to apply (see {@linkcode envNameFrom}). */
  envName?: string;
  /**
   * Documents merged over the file after its overlay, in order (`layers.ts`); their `[agent]`,
   * `[collector]` and `[env]` tables are ignored. Relative paths in them are relative to `path`.
   */
  layers?: readonly ConfigLayer[];
  /** Variables for `${VAR}`; default `Deno.env.toObject()`. */
  vars?: Readonly<Record<string, string | undefined>>;
  /** The key of `enc:v1:` values; none: such a value is a problem. */
  secretKey?: Uint8Array | null;
  /** The OS whose default paths apply (`Deno.build.os` names); default this one. */
  os?: string;
  /**
   * Reads a calendar's `holidays_file` (the agent passes `Deno.readTextFileSync`); without it,
   * a config that names one gets a problem there.
   */
  readText?: (path: string) => string;
}

/**
 * How the pipeline treats a value it cannot know: `"problem"` (the agent, reading its own
 * config) or `"unknown"` (the collector, checking layers away from the machine): an unset
 * `${VAR}` or an `enc:v1:` value without a key is then no problem, and the value is not checked.
 */
export interface PipelineMode {
  unresolved: "problem" | "unknown";
}

/** What the pipeline found: the config, or the problems (and no config). */
export type PipelineResult =
  | { config: ResolvedAgentConfig; issues: [] }
  | { config: undefined; issues: ConfigIssue[] };

/**
 * Parses, overlays, layers, interpolates, validates and resolves config text.
 * Reads no files; `host` defaults to `Deno.hostname()`.
 *
 * @throws {ConfigError} listing every problem found.
 */
export function parseConfig(text: string, options: ParseConfigOptions): ResolvedAgentConfig {
  const result = runPipeline(text, options, { unresolved: "problem" });
  if (result.config === undefined) {
    throw new ConfigError(result.issues, { file: options.path });
  }
  return result.config;
}

/**
 * {@linkcode parseConfig}'s pipeline, its problems returned, not thrown (a syntax error of
 * `text` itself is thrown). Not part of the folder's API: `check_layers.ts` uses it too.
 */
export function runPipeline(
  text: string,
  options: ParseConfigOptions,
  mode: PipelineMode,
): PipelineResult {
  const file = options.path;
  const raw = parseToml(text, file);
  const lines = scanKeyLines(text);
  const issues: ConfigIssue[] = windowsPathIssues(raw, lines);
  const overlaid = applyOverlay(raw, lines, options.envName, issues);
  if (overlaid === undefined) return failed(issues, options.layers); // unknown --env
  const { places } = overlaid;
  let { merged } = overlaid;
  let unparsed = false;
  for (const layer of options.layers ?? []) {
    const applied = applyLayer(merged, places, layer, issues);
    if (applied === undefined) unparsed = true;
    else merged = applied;
  }
  if (unparsed) return failed(issues, options.layers); // its syntax error is enough
  const where = (path: string): { line: number | undefined; file?: string } => {
    const place = findPlace(places, path.split("."));
    return place?.file === undefined ? { line: place?.line } : place;
  };
  const vars = options.vars ?? Deno.env.toObject();
  const defaults = { defaultDataDir: defaultDataDir(options.os ?? Deno.build.os, vars) };
  const interpolated = interpolateTree(merged, {
    vars,
    secretKey: options.secretKey ?? null,
    unresolved: mode.unresolved,
  });
  for (const problem of interpolated.problems) {
    issues.push({ ...problem, ...where(problem.path) });
  }
  // A value already reported, or not known here (an array: all of it), is not checked.
  const unchecked = [
    ...interpolated.problems.map((problem) => problem.path),
    ...interpolated.unknown.map((path) => path.replace(/(\.\d+)+$/, "")),
  ];
  const checked = (path: string) =>
    !unchecked.some((prefix) => path === prefix || path.startsWith(`${prefix}.`));
  const values = interpolated.value;
  const result = agentConfigSchema.safeParse(values, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const found of describeIssue(issue, { wording: AGENT_WORDING })) {
        if (checked(found.path)) issues.push({ ...found, ...where(found.path) });
      }
    }
    // Problems that need defaults applied are found too, in what did validate.
    for (
      const issue of crossFieldIssues(values, result.error.issues, { ...options, ...defaults })
    ) {
      if (checked(issue.path)) issues.push({ ...issue, ...where(issue.path) });
    }
  }
  if (issues.length > 0 || !result.success) return failed(issues, options.layers);
  const resolved = resolveConfig(result.data, {
    path: file,
    envName: options.envName,
    readText: options.readText ?? readNoFile,
    ...defaults,
  });
  if ("issues" in resolved) {
    const found = resolved.issues.filter((issue) => checked(issue.path));
    return failed(found.map((issue) => ({ ...issue, ...where(issue.path) })), options.layers);
  }
  return { config: resolved.config, issues: [] };
}

/** `issues` as a failed result: the local file's first, then each layer's in order, by line. */
function failed(issues: ConfigIssue[], layers: readonly ConfigLayer[] = []): PipelineResult {
  const names = layers.map((layer) => layer.name);
  const rank = (issue: ConfigIssue) => issue.file === undefined ? -1 : names.indexOf(issue.file);
  const sorted = [...issues].sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0));
  return { config: undefined, issues: sorted };
}

/** The `readText` of a caller that passed none: names the file it was not given a way to read. */
function readNoFile(path: string): string {
  throw new Error(`cannot read "${path}": the config was parsed without a way to read files`);
}

/**
 * Merges `layer` over `merged` (its pinned tables left out) and moves the
 * places of the keys it sets to it; its problems so far (a syntax error,
 * Windows paths) go to `issues`. Returns the merged tables, or undefined when
 * the layer does not parse.
 */
function applyLayer(
  merged: Table,
  places: Map<string, Place>,
  layer: ConfigLayer,
  issues: ConfigIssue[],
): Table | undefined {
  let tree: Table;
  try {
    tree = withoutPinned(parseToml(layer.text, layer.name));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues.map((issue) => ({ ...issue, file: layer.name })));
    return undefined;
  }
  const lines = new Map(
    [...scanKeyLines(layer.text)].filter(([path]) => !isPinnedPath(path)),
  );
  for (const issue of windowsPathIssues(tree, lines)) issues.push({ ...issue, file: layer.name });
  overlayPlaces(places, tree, lines, layer.name);
  return mergeTables(merged, tree);
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
        readText: options.readText ?? readNoFile,
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

/** The overlay to apply: the `--env` flag wins, then `SCRIPTMON_ENV`, else none. */
export function envNameFrom(
  flag?: string,
  vars?: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (flag !== undefined && flag !== "") return flag;
  const fromVars = vars === undefined ? Deno.env.get("SCRIPTMON_ENV") : vars.SCRIPTMON_ENV;
  return fromVars === undefined || fromVars === "" ? undefined : fromVars;
}

/**
 * Checks the `[env.*]` tables, merges the chosen one, and places each key;
 * undefined for an unknown `envName` (its problem added to `issues`).
 */
function applyOverlay(
  raw: Table,
  lines: ReadonlyMap<string, number>,
  envName: string | undefined,
  issues: ConfigIssue[],
): { merged: Table; places: Map<string, Place> } | undefined {
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
  const places = placesOf(lines);
  if (envName === undefined) return { merged: base, places };
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
    return undefined;
  }
  const prefix = `env.${envName}.`;
  const overlayLines = new Map(
    [...lines].filter(([key]) => key.startsWith(prefix)).map((
      [key, line],
    ) => [key.slice(prefix.length), line]),
  );
  overlayPlaces(places, overlay, overlayLines);
  return { merged: mergeTables(base, overlay), places };
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
  const merged = applyOverlay(raw, new Map(), options.envName, [])?.merged;
  const agent = isTable(merged?.agent) ? merged.agent : {};
  const vars = options.vars ?? Deno.env.toObject();
  const written = agent.data_dir ?? defaultDataDir(options.os ?? Deno.build.os, vars);
  if (typeof written !== "string") return null;
  const { value, problems } = interpolate(written, vars);
  if (problems.length > 0) return null;
  return resolvePath(dirname(resolve(options.path)), value);
}

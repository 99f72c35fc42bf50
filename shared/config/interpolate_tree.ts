/**
 * `${VAR}` interpolation and `enc:v1:` decryption of a whole parsed config,
 * string by string (`interpolate.ts`, `secrets.ts`), for both programs.
 *
 * @module
 */
import { interpolate, unsetVariables } from "./interpolate.ts";
import { registerSecret } from "../redact.ts";
import { isEncrypted, isSecretPath, revealValue } from "./secrets.ts";

/** A parsed config with every string interpolated, and what went wrong where. */
export interface InterpolatedTree<T> {
  /** A copy of the input (tables and arrays copied; a failed string is ""). */
  value: T;
  /** One a problem, with the dotted key path of its string, in file order. */
  problems: { path: string; message: string }[];
  /**
   * With `unresolved: "unknown"`: the key paths of the strings whose value is not known here (an
   * unset `${VAR}`, an `enc:v1:` value without a key), in file order; each is "" in `value`.
   */
  unknown: string[];
}

/** Options of {@linkcode interpolateTree}. */
export interface InterpolateTreeOptions {
  vars: Readonly<Record<string, string | undefined>>;
  secretKey?: Uint8Array | null;
  /**
   * What an unset `${VAR}` (without a fallback) and an `enc:v1:` value without a key are:
   * `"problem"` (the default: a program reading its own config) or `"unknown"`, for a document
   * checked away from the machine whose variables and key it will meet: no problem, but the
   * string's path is listed in `unknown` (other problems of the string are still reported).
   */
  unresolved?: "problem" | "unknown";
}

/** What an unknown URL reads as in `unknown` mode. */
const UNKNOWN_URL = "https://unknown.invalid/";

/**
 * Interpolates every string inside `table` with `vars`, decrypts `enc:v1:`
 * values with `secretKey`, and registers the secrets (decrypted values,
 * webhook URLs and passwords, the collector token) for redaction.
 */
export function interpolateTree<T extends Record<string, unknown>>(
  table: T,
  options: InterpolateTreeOptions,
): InterpolatedTree<T> {
  const problems: { path: string; message: string }[] = [];
  const unknown: string[] = [];
  const lenient = options.unresolved === "unknown";
  const visit = (node: unknown, at: string[]): unknown => {
    if (typeof node === "string") {
      const unset = lenient ? unsetVariables(node, options.vars) : [];
      const vars = unset.length === 0
        ? options.vars
        : { ...options.vars, ...Object.fromEntries(unset.map((name) => [name, ""])) };
      const result = interpolate(node, vars);
      for (const message of result.problems) problems.push({ path: at.join("."), message });
      const keyless = lenient && (options.secretKey ?? null) === null &&
        isEncrypted(result.value);
      if (unset.length > 0 || keyless) {
        unknown.push(at.join("."));
        // A stand-in the schema takes, so that what refers to it (a route naming a webhook whose
        // URL is a variable) is checked as it will be on the agent.
        return at.at(-1)?.endsWith("url") ? UNKNOWN_URL : "unknown";
      }
      const revealed = revealValue(result.value, options.secretKey ?? null);
      if (revealed.problem !== undefined) {
        problems.push({ path: at.join("."), message: revealed.problem });
      }
      // A document checked for others (`unknown` mode) is not this process's config.
      if (!lenient && (revealed.value !== result.value || isSecretPath(at))) {
        registerSecret(revealed.value);
      }
      return revealed.value;
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...at, String(index)]));
    if (typeof node === "object" && node !== null && !(node instanceof Date)) {
      return Object.fromEntries(
        Object.entries(node).map(([key, inner]) => [key, visit(inner, [...at, key])]),
      );
    }
    return node;
  };
  return { value: visit(table, []) as T, problems, unknown };
}

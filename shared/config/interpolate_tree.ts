/**
 * `${VAR}` interpolation and `enc:v1:` decryption of a whole parsed config,
 * string by string (`interpolate.ts`, `secrets.ts`), for both programs.
 *
 * @module
 */
import { interpolate } from "./interpolate.ts";
import { registerSecret } from "../redact.ts";
import { isSecretPath, revealValue } from "./secrets.ts";

/** A parsed config with every string interpolated, and what went wrong where. */
export interface InterpolatedTree<T> {
  /** A copy of the input (tables and arrays copied; a failed string is ""). */
  value: T;
  /** One a problem, with the dotted key path of its string, in file order. */
  problems: { path: string; message: string }[];
}

/**
 * Interpolates every string inside `table` with `vars`, decrypts `enc:v1:`
 * values with `secretKey`, and registers the secrets (decrypted values,
 * webhook URLs and passwords, the collector token) for redaction.
 */
export function interpolateTree<T extends Record<string, unknown>>(
  table: T,
  options: {
    vars: Readonly<Record<string, string | undefined>>;
    secretKey?: Uint8Array | null;
  },
): InterpolatedTree<T> {
  const problems: { path: string; message: string }[] = [];
  const visit = (node: unknown, at: string[]): unknown => {
    if (typeof node === "string") {
      const result = interpolate(node, options.vars);
      for (const message of result.problems) problems.push({ path: at.join("."), message });
      const revealed = revealValue(result.value, options.secretKey ?? null);
      if (revealed.problem !== undefined) {
        problems.push({ path: at.join("."), message: revealed.problem });
      }
      if (revealed.value !== result.value || isSecretPath(at)) registerSecret(revealed.value);
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
  return { value: visit(table, []) as T, problems };
}

/**
 * `${VAR}` interpolation and `enc:v1:` decryption of a whole parsed config
 * tree for the collector, string by string with shared/config/interpolate.ts and
 * shared/config/secrets.ts (the agent's rules).
 *
 * @module
 */
import { interpolate } from "../../shared/config/interpolate.ts";
import { registerSecret } from "../../shared/redact.ts";
import { isSecretPath, revealValue } from "../../shared/config/secrets.ts";

/**
 * Interpolates every string inside `value` (tables and arrays, copied),
 * decrypts `enc:v1:` values with `secretKey`, and registers the secrets
 * (decrypted values, webhook URLs and passwords) for redaction. Problems
 * are reported with the dotted key path of the string.
 */
export function interpolateTree(
  value: unknown,
  vars: Readonly<Record<string, string | undefined>>,
  secretKey: Uint8Array | null = null,
  path: string[] = [],
): { value: unknown; problems: { path: string; message: string }[] } {
  const problems: { path: string; message: string }[] = [];
  const visit = (node: unknown, at: string[]): unknown => {
    if (typeof node === "string") {
      const result = interpolate(node, vars);
      for (const message of result.problems) problems.push({ path: at.join("."), message });
      const revealed = revealValue(result.value, secretKey);
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
  return { value: visit(value, path), problems };
}

/**
 * `${VAR}` interpolation of the collector's config strings: `${VAR}` is the
 * variable's value (unset is a problem), `${VAR:-fallback}` falls back when
 * VAR is unset or empty, `$${` is a literal `${`, any other `$` stays.
 *
 * @module
 */

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replaces references in `text`; returns the new text and one sentence per problem. */
export function interpolate(
  text: string,
  vars: Readonly<Record<string, string | undefined>>,
): { value: string; problems: string[] } {
  const problems: string[] = [];
  const value = text.replace(REFERENCE, (match: string, body: string | undefined) => {
    if (match === "$${") return "${";
    if (body === undefined) {
      problems.push(`unterminated "\${" in ${JSON.stringify(text)}`);
      return match;
    }
    const split = body.indexOf(":-");
    const name = split === -1 ? body : body.slice(0, split);
    if (!NAME.test(name)) {
      problems.push(`invalid variable name ${JSON.stringify(name)} in ${JSON.stringify(text)}`);
      return "";
    }
    const found = vars[name];
    if (split !== -1) return found === undefined || found === "" ? body.slice(split + 2) : found;
    if (found === undefined) {
      problems.push(`environment variable ${name} is not set (referenced as "\${${name}}")`);
      return "";
    }
    return found;
  });
  return { value, problems };
}

/**
 * Interpolates every string inside `value` (tables and arrays, copied).
 * Problems are reported with the dotted key path of the string.
 */
export function interpolateTree(
  value: unknown,
  vars: Readonly<Record<string, string | undefined>>,
  path: string[] = [],
): { value: unknown; problems: { path: string; message: string }[] } {
  const problems: { path: string; message: string }[] = [];
  const visit = (node: unknown, at: string[]): unknown => {
    if (typeof node === "string") {
      const result = interpolate(node, vars);
      for (const message of result.problems) problems.push({ path: at.join("."), message });
      return result.value;
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

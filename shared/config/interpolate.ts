/**
 * `${VAR}` interpolation of config strings (both programs), for secrets and per-machine
 * values that do not belong in the file.
 *
 * - `${VAR}` is the variable's value; a variable that is not set is a problem.
 * - `${VAR:-fallback}` is the fallback when VAR is unset or empty.
 * - `$${` is a literal `${`; any other `$` is kept as written (`$RANDOM`).
 *
 * @module
 */

/** The result of interpolating one string. */
export interface Interpolated {
  /** The text with every reference replaced (a missing one by ""). */
  value: string;
  /** What went wrong, one sentence each; empty when all went well. */
  problems: string[];
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replaces `${VAR}` and `${VAR:-fallback}` in `text` from `vars`. */
export function interpolate(
  text: string,
  vars: Readonly<Record<string, string | undefined>>,
): Interpolated {
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
 * The variables `text` refers to as `${VAR}` (no fallback) that `vars` does not set, each once:
 * the references {@linkcode interpolate} would call a problem.
 */
export function unsetVariables(
  text: string,
  vars: Readonly<Record<string, string | undefined>>,
): string[] {
  const unset = new Set<string>();
  for (const [match, body] of text.matchAll(REFERENCE)) {
    if (match === "$${" || body === undefined || body.includes(":-")) continue;
    if (NAME.test(body) && vars[body] === undefined) unset.add(body);
  }
  return [...unset];
}

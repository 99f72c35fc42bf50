/**
 * Which scripts a control request names: one script by its name, `all`, or
 * a glob (`*` any run of characters, `?` one character), as in
 * `scriptmon-agent restart 'rates_*'`.
 *
 * @module
 */

/** The word that names every script. */
export const ALL = "all";

/** A name or pattern that selects no script; `known` lists what exists. */
export class NoMatchError extends Error {
  override name = "NoMatchError";
  /** The script names that exist. */
  readonly known: string[];

  /** `pattern` as given; `known` the configured names. */
  constructor(pattern: string, known: string[]) {
    const what = isPattern(pattern) ? `matches "${pattern}"` : `named "${pattern}"`;
    super(`No script ${what} in the config (known: ${known.join(", ") || "none"})`);
    this.known = known;
  }
}

/** True for `all` and for globs: words that may name several scripts. */
export function isPattern(name: string): boolean {
  return name === ALL || /[*?]/.test(name);
}

/** The names `pattern` selects from `names`, in their order; throws NoMatchError for none. */
export function selectScripts(pattern: string, names: readonly string[]): string[] {
  if (!isPattern(pattern)) {
    if (names.includes(pattern)) return [pattern];
    throw new NoMatchError(pattern, [...names]);
  }
  if (pattern === ALL) return [...names];
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")
    .replaceAll("?", ".");
  const glob = new RegExp(`^${source}$`);
  const matched = names.filter((name) => glob.test(name));
  if (matched.length === 0) throw new NoMatchError(pattern, [...names]);
  return matched;
}

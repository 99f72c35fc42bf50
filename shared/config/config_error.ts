/** The error both programs' config loaders throw: every problem of a file at once. */

/** One problem in a config file. */
export interface ConfigIssue {
  /** Key path, e.g. "scripts.rates.restart.max_delay"; "" for the file as a whole. */
  path: string;
  /** 1-based line where the key (or its nearest enclosing table) is defined. */
  line?: number;
  /**
   * The document the line is in, when it is not the error's own file: a layer merged over the
   * agent's config file (`central config v12 (site FC1)`).
   */
  file?: string;
  /** What was expected and the value found. */
  message: string;
}

/** A config file that cannot be used; `issues` lists every problem found. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Every problem, in file order. */
  readonly issues: ConfigIssue[];

  /**
   * `file` is the path as the user gave it; it starts every line of the message but those of
   * issues with a `file` of their own. Issues are sorted by line: the file's first, then each
   * other file's, in the order they first appear in `issues`.
   */
  constructor(issues: ConfigIssue[], options: { file?: string; cause?: unknown } = {}) {
    const files = [undefined, ...new Set(issues.map((issue) => issue.file))];
    const rank = (issue: ConfigIssue) => files.indexOf(issue.file);
    const sorted = [...issues].sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0));
    super(sorted.map((issue) => formatIssue(issue, options.file)).join("\n"), {
      cause: options.cause,
    });
    this.issues = sorted;
  }
}

/** `file:line: path: message`, leaving out what is not known. */
function formatIssue(issue: ConfigIssue, errorFile: string | undefined): string {
  const file = issue.file ?? errorFile;
  const where = file === undefined
    ? ""
    : `${file}${issue.line === undefined ? "" : `:${issue.line}`}: `;
  return `${where}${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`;
}

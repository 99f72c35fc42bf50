/**
 * Finds the line on which each key of a TOML document is defined, so config
 * errors can say `config.toml:14`. smol-toml parses the values; this scanner
 * only walks the text of a document that already parsed, so it can be
 * lenient about anything that is not valid TOML.
 *
 * Paths are key segments joined by "." (`scripts.rates.restart.max_delay`);
 * array elements get their index (`scripts.rates.command.1`), and so do
 * `[[array.tables]]`.
 *
 * @module
 */

/** Line (1-based) of every key path defined in `text`. */
export function scanKeyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const arrayTables = new Map<string, number>();
  let pos = text.startsWith("\uFEFF") ? 1 : 0; // a byte order mark, as Notepad writes
  let line = 1;
  let table: string[] = [];

  const at = (offset = 0) => text[pos + offset] ?? "";
  const ahead = (word: string) => text.startsWith(word, pos);
  const advance = (count = 1) => {
    for (let i = 0; i < count && pos < text.length; i += 1, pos += 1) {
      if (text[pos] === "\n") line += 1;
    }
  };
  const skipSpace = () => {
    while (at() === " " || at() === "\t") advance();
  };
  const skipBlank = () => {
    for (;;) {
      const char = at();
      if (char === " " || char === "\t" || char === "\r" || char === "\n") advance();
      else if (char === "#") { while (pos < text.length && at() !== "\n") advance(); }
      else return;
    }
  };
  const record = (path: string[], where: number, options: { implicit?: boolean } = {}) => {
    const key = path.join(".");
    if (!options.implicit || !lines.has(key)) lines.set(key, where);
  };

  /** Reads a quoted string starting at `pos` and returns its (unescaped-ish) content. */
  const readString = (): string => {
    const quote = at();
    const multi = ahead(quote.repeat(3));
    const delimiter = multi ? quote.repeat(3) : quote;
    advance(delimiter.length);
    let content = "";
    while (pos < text.length && !ahead(delimiter)) {
      if (quote === '"' && at() === "\\") {
        content += at(1);
        advance(2);
        continue;
      }
      content += at();
      advance();
    }
    advance(delimiter.length);
    while (multi && at() === quote) advance(); // `"""a""""`: up to two quotes belong to the content
    return content;
  };
  const readKeyPart = (): string => {
    if (at() === '"' || at() === "'") return readString();
    const start = pos;
    while (/[A-Za-z0-9_-]/.test(at())) advance();
    return text.slice(start, pos);
  };
  const readKey = (): string[] => {
    const parts = [readKeyPart()];
    for (skipSpace(); at() === "."; skipSpace()) {
      advance();
      skipSpace();
      parts.push(readKeyPart());
    }
    return parts;
  };

  const readValue = (path: string[]): void => {
    const char = at();
    if (char === '"' || char === "'") {
      readString();
    } else if (char === "[") {
      advance();
      for (let index = 0;; index += 1) {
        skipBlank();
        if (at() === "]" || pos >= text.length) break;
        record([...path, String(index)], line);
        readValue([...path, String(index)]);
        skipBlank();
        if (at() === ",") advance();
      }
      advance();
    } else if (char === "{") {
      advance();
      for (;;) {
        skipBlank();
        if (at() === "}" || pos >= text.length) break;
        readKeyValue(path);
        skipBlank();
        if (at() === ",") advance();
      }
      advance();
    } else {
      while (pos < text.length && !",]}\n\r#".includes(at())) advance();
    }
  };
  const readKeyValue = (prefix: string[]): void => {
    const where = line;
    const key = readKey();
    for (let depth = 1; depth < key.length; depth += 1) {
      record([...prefix, ...key.slice(0, depth)], where, { implicit: true });
    }
    record([...prefix, ...key], where);
    skipSpace();
    if (at() === "=") advance();
    skipSpace();
    readValue([...prefix, ...key]);
  };
  const readHeader = (): void => {
    const where = line;
    const isArray = ahead("[[");
    advance(isArray ? 2 : 1);
    skipSpace();
    const key = readKey();
    advance(isArray ? 2 : 1);
    const resolved: string[] = [];
    key.forEach((part, depth) => {
      resolved.push(part);
      const joined = resolved.join(".");
      const last = depth === key.length - 1;
      if (last && isArray) {
        const index = (arrayTables.get(joined) ?? -1) + 1;
        arrayTables.set(joined, index);
        record(resolved, where, { implicit: true });
        resolved.push(String(index));
      } else if (arrayTables.has(joined)) {
        resolved.push(String(arrayTables.get(joined)));
      }
      if (!last) record(resolved, where, { implicit: true });
    });
    record(resolved, where);
    table = resolved;
  };

  for (skipBlank(); pos < text.length; skipBlank()) {
    const before = pos;
    if (at() === "[") readHeader();
    else readKeyValue(table);
    if (pos === before) advance(); // never loop on text this scanner does not understand
  }
  return lines;
}

/** The line of `path`, or of its nearest enclosing key that has one. */
export function findLine(
  lines: ReadonlyMap<string, number>,
  path: readonly string[],
): number | undefined {
  for (let length = path.length; length > 0; length -= 1) {
    const found = lines.get(path.slice(0, length).join("."));
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Splits a command written as one string into argv words, the way a POSIX
 * shell would split it, but without running a shell: no variables, globs,
 * pipes or redirections.
 *
 * - Whitespace separates words; `''` and `""` make an empty word.
 * - Single quotes keep everything literally.
 * - Double quotes keep everything except `\"`, `\\`, `\$` and `` \` ``,
 *   which drop the backslash (so `"C:\fc"` keeps its backslash).
 * - Outside quotes a backslash keeps the next character literally.
 *
 * Windows paths with backslashes read best in the array form of `command`.
 *
 * @throws {SyntaxError} on an unterminated quote or a trailing backslash.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let index = 0;
  const fail = (what: string) => new SyntaxError(`${what} in command ${JSON.stringify(text)}`);
  while (index < text.length) {
    const char = text[index];
    if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      index += 1;
      continue;
    }
    inWord = true;
    if (char === "'") {
      const end = text.indexOf("'", index + 1);
      if (end === -1) throw fail(`Unterminated single quote at character ${index + 1}`);
      word += text.slice(index + 1, end);
      index = end + 1;
    } else if (char === '"') {
      const start = index;
      index += 1;
      while (index < text.length && text[index] !== '"') {
        if (text[index] === "\\" && '"\\$`'.includes(text[index + 1] ?? "")) index += 1;
        word += text[index];
        index += 1;
      }
      if (index >= text.length) throw fail(`Unterminated double quote at character ${start + 1}`);
      index += 1;
    } else if (char === "\\") {
      if (index + 1 >= text.length) throw fail("Trailing backslash");
      word += text[index + 1];
      index += 2;
    } else {
      word += char;
      index += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}

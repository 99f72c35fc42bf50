/**
 * Windows command lines both ways: split as CommandLineToArgvW does (what a
 * process's command line means), and built for cmd.exe and taskkill.
 *
 * @module
 */

/** Split a Windows command line into argv the way CommandLineToArgvW does. */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  // argv[0]: quotes toggle, backslashes are literal.
  while (i < line.length && (line[i] === " " || line[i] === "\t")) i++;
  if (i >= line.length) return args;
  let first = "";
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === " " || c === "\t")) break;
    else first += c;
  }
  args.push(first);
  // The rest: 2n backslashes + quote = n backslashes and a toggle; 2n+1 = n and a literal quote.
  for (;;) {
    while (i < line.length && (line[i] === " " || line[i] === "\t")) i++;
    if (i >= line.length) return args;
    let arg = "";
    quoted = false;
    while (i < line.length) {
      const c = line[i];
      if (c === "\\") {
        let slashes = 0;
        while (line[i] === "\\") {
          slashes++;
          i++;
        }
        if (line[i] === '"') {
          arg += "\\".repeat(Math.floor(slashes / 2));
          if (slashes % 2 === 1) {
            arg += '"';
            i++;
          }
        } else {
          arg += "\\".repeat(slashes);
        }
      } else if (c === '"') {
        if (quoted && line[i + 1] === '"') {
          arg += '"';
          i += 2;
        } else {
          quoted = !quoted;
          i++;
        }
      } else if (!quoted && (c === " " || c === "\t")) {
        break;
      } else {
        arg += c;
        i++;
      }
    }
    args.push(arg);
  }
}

/** The taskkill arguments that stop a tree: WM_CLOSE without `force`, TerminateProcess with. */
export function taskkillArgs(pid: number, options: { force: boolean }): string[] {
  checkPid(pid);
  return ["/PID", String(pid), "/T", ...(options.force ? ["/F"] : [])];
}

/** taskkill's exit code when the process does not exist. */
export const TASKKILL_NOT_FOUND = 128;

/**
 * The raw cmd.exe argument string of `spawnDetached()`: every word quoted, so
 * `& | < > ^ ( )` stay literal; characters cmd.exe would still interpret
 * inside quotes (`"`, `%`, line breaks) are refused.
 */
export function detachedCmdLine(argv: string[], logPath: string): string {
  if (argv.length === 0) throw new TypeError("Cannot start a detached script: argv is empty");
  const words = [...argv, logPath];
  words.forEach((word, index) => {
    const bad = /["%\r\n\0]/.exec(word);
    if (bad) {
      const what = index === argv.length ? "log path" : `argument ${index}`;
      throw new TypeError(
        `Cannot start "${argv[0]}" detached on Windows: ${what} "${word}" contains ${
          JSON.stringify(bad[0])
        }, which cmd.exe would interpret`,
      );
    }
  });
  const quote = (word: string) => `"${word.replace(/(\\+)$/, "$1$1")}"`;
  return `/d /v:off /s /c "${argv.map(quote).join(" ")} >>${quote(logPath)} 2>&1"`;
}

/** Throws unless `pid` is a positive integer. */
export function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RangeError(`Invalid pid: expected a positive integer, got ${pid}`);
  }
}

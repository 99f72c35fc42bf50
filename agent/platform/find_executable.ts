/**
 * Looks a command up the way the OS will when it runs it, so that a missing
 * program is a clear error before anything is spawned.
 */
import { delimiter, extname, isAbsolute, resolve } from "node:path";

/** Windows' PATHEXT when the environment has none. */
const DEFAULT_PATHEXT = ".COM;.EXE;.BAT;.CMD";

/**
 * The absolute path `command` resolves to, or null. A name with a path
 * separator is taken relative to `cwd`; a bare name is searched on `path`
 * (entries separated by the platform's delimiter), trying each `pathExt`
 * suffix (Windows' PATHEXT) as well as the name itself. POSIX wants an exec
 * bit; Windows has none (Deno reports mode 0o666 there), so on Windows a file
 * counts when its extension is one of PATHEXT's, as `python.cmd`.
 */
export async function findExecutable(
  command: string,
  options: { cwd: string; path?: string; pathExt?: string; windows?: boolean },
): Promise<string | null> {
  const windows = options.windows ?? Deno.build.os === "windows";
  const pathExt = (options.pathExt ?? (windows ? DEFAULT_PATHEXT : "")).split(";")
    .filter(Boolean);
  const runnable = new Set(pathExt.map((ext) => ext.toLowerCase()));
  // Windows matches extensions whatever their case; try PATHEXT's own and lower case.
  const exts = [...new Set(["", ...pathExt.flatMap((ext) => [ext, ext.toLowerCase()])])];
  const hasSeparator = command.includes("/") || command.includes("\\");
  const dirs = hasSeparator || isAbsolute(command)
    ? [options.cwd]
    : (options.path ?? "").split(windows ? ";" : delimiter).filter(Boolean);
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = resolve(dir, command + ext);
      try {
        const info = await Deno.stat(candidate);
        if (!info.isFile) continue;
        if (windows ? runnable.has(extname(candidate).toLowerCase()) : isExecutable(info)) {
          return candidate;
        }
      } catch {
        // not here; try the next one
      }
    }
  }
  return null;
}

function isExecutable(info: Deno.FileInfo): boolean {
  return info.mode === null || (info.mode & 0o111) !== 0;
}

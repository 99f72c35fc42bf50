/**
 * Looks a command up the way the OS will when it runs it, so that a missing
 * program is a clear error before anything is spawned.
 */
import { delimiter, isAbsolute, resolve } from "node:path";

/**
 * The absolute path `command` resolves to, or null. A name with a path
 * separator is taken relative to `cwd`; a bare name is searched on `path`
 * (entries separated by the platform's delimiter), trying each `pathExt`
 * suffix (Windows' PATHEXT) as well as the name itself.
 */
export async function findExecutable(
  command: string,
  options: { cwd: string; path?: string; pathExt?: string },
): Promise<string | null> {
  const exts = ["", ...(options.pathExt?.split(";").filter(Boolean) ?? [])];
  const hasSeparator = command.includes("/") || command.includes("\\");
  const dirs = hasSeparator || isAbsolute(command)
    ? [options.cwd]
    : (options.path ?? "").split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = resolve(dir, command + ext);
      try {
        const info = await Deno.stat(candidate);
        if (info.isFile && (info.mode === null || (info.mode & 0o111) !== 0)) return candidate;
      } catch {
        // not here; try the next one
      }
    }
  }
  return null;
}

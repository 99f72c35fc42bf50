/**
 * Gives the C heap's freed pages back to the operating system (glibc's
 * `malloc_trim(0)` on Linux). `deno run` parses a module it has not seen
 * before (the first start after an install or an upgrade, which then runs for
 * months) with memory it frees but glibc keeps: 30 MB of an agent's 117 MB
 * RSS, measured in `bench/README.md`. Elsewhere, and without glibc, nothing
 * is done.
 *
 * @module
 */

type Trim = () => void;

let trim: Trim | null | undefined;

/** The trim call, looked up once; null where there is none (not Linux, not glibc, no FFI). */
function lookUp(): Trim | null {
  if (Deno.build.os !== "linux") return null;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    return null; // musl, or no libc.so.6
  }
}

/** Returns freed C-heap memory to the system; false where this platform cannot. */
export function trimFreedMemory(): boolean {
  if (trim === undefined) trim = lookUp();
  if (trim === null) return false;
  trim();
  return true;
}

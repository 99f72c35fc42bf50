/** Opens the agent's Deno KV file, riding out another process holding it briefly. */

/** Opens (creating) the KV file at `path`; retries "database is locked" for up to ~2 s. */
export async function openKv(path: string): Promise<Deno.Kv> {
  for (let attempt = 1;; attempt++) {
    try {
      return await Deno.openKv(path);
    } catch (error) {
      const locked = error instanceof Error && /database is locked/i.test(error.message);
      if (!locked || attempt >= 20) {
        throw new Error(`Cannot open the KV store ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
  }
}

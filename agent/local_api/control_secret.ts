/**
 * The control secret: a random token in the data dir, readable only by its
 * user, that the CLI presents to the agent's local API for control requests.
 */
import { join } from "node:path";

const FILE = "control.secret";

/** Reads the data dir's control secret, creating it (mode 0600) if missing. */
export async function ensureControlSecret(dataDir: string): Promise<string> {
  const existing = await readControlSecret(dataDir);
  if (existing) return existing;
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const path = join(dataDir, FILE);
  try {
    await Deno.writeTextFile(path, secret + "\n", { mode: 0o600, createNew: true });
  } catch (error) {
    // Another process created it first: use theirs.
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  return (await readControlSecret(dataDir))!;
}

/** The data dir's control secret, or null when there is none. */
export async function readControlSecret(dataDir: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(join(dataDir, FILE))).trim() || null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Retries a KV operation that failed with "database is locked", which
 * happens when several processes share one KV file (see DESIGN.md).
 *
 * @module
 */

const ATTEMPTS = 40;

/** Whether `error` is SQLite's busy error as Deno KV reports it. */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

/** Runs `operation`, retrying with a growing, jittered delay while the database is locked. */
export async function retryLocked<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isLocked(error) || attempt >= ATTEMPTS) throw error;
      const delay = Math.min(100, 2 ** Math.min(attempt, 7)) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * The window of an export: `since` and `until` as given (ISO times), defaulting to the
 * {@linkcode DEFAULT_WINDOW_MS} before now.
 *
 * @module
 */

/** The window when `since` is not given: the 30 days before `until`. */
export const DEFAULT_WINDOW_MS = 30 * 86_400_000;

/**
 * An ISO time (`2026-05-01`, `2026-05-01T12:00:00Z`) in ms; `name` is the option or parameter.
 *
 * @throws {RangeError} naming it and the text.
 */
export function parseTime(name: string, text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new RangeError(
      `${name}: expected an ISO time like "2026-05-01T12:00:00Z", got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/**
 * `[since, until)` in ms: `until` default `now`, `since` default 30 days before `until`.
 *
 * @throws {RangeError} when `until` is not after `since`, naming both.
 */
export function exportWindow(
  given: { since?: number; until?: number },
  now: number,
): { since: number; until: number } {
  const until = given.until ?? now;
  const since = given.since ?? until - DEFAULT_WINDOW_MS;
  if (until <= since) {
    throw new RangeError(
      `until: expected a time after since (${new Date(since).toISOString()}), got ${
        new Date(until).toISOString()
      }`,
    );
  }
  return { since, until };
}

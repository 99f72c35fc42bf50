/**
 * Numbers and spans as trend messages print them: `"40"`, `"7.5"`, `"2 h"`,
 * `"40 min"`.
 *
 * @module
 */

/** A count or a typical count: whole from 10 up, one decimal below (`"40"`, `"7.5"`, `"0"`). */
export function formatCount(value: number): string {
  return value >= 10 ? String(Math.round(value)) : String(Number(value.toFixed(1)));
}

/**
 * A span of time in a sentence: whole minutes under an hour (`"40 min"`),
 * hours with one decimal under ten (`"1.5 h"`, `"2 h"`), whole hours above.
 */
export function formatSpan(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${Math.max(1, minutes)} min`;
  const hours = ms / 3_600_000;
  return `${hours >= 10 ? Math.round(hours) : Number(hours.toFixed(1))} h`;
}

/** `"1 message"`, `"2 messages"`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

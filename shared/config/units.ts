/**
 * Durations and sizes as people write them in config files and read them in
 * status output: `"1h30m"`, `"10MB"`, `"12.3 MB"`.
 *
 * Sizes: `KB`, `MB`, `GB`, `TB` are decimal (powers of 1000, as disk vendors
 * and `ls --si` count); `KiB`, `MiB`, `GiB`, `TiB` are binary (powers of
 * 1024). Unit letters are case-insensitive (`10mb` is `10MB`).
 *
 * @module
 */

const DURATION_UNITS: ReadonlyArray<readonly [string, number]> = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1],
];

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)\s?/y;
const SIZE_TEXT = /^(\d+(?:\.\d+)?)\s?([a-z]+)$/i;

/** Example shown in every duration error, so messages agree. */
export const DURATION_HINT = 'a duration like "30s", "5m" or "1h30m"';

/** Example shown in every size error, so messages agree. */
export const SIZE_HINT = 'a size like "512KB", "10MB" or "1GiB"';

/**
 * Parses a duration such as `"250ms"`, `"30s"`, `"1h30m"` or `"1h 30m"` into
 * milliseconds (rounded to a whole number). Units run from largest to
 * smallest, each at most once: `d`, `h`, `m`, `s`, `ms`.
 *
 * @throws {TypeError} when `text` is not a string.
 * @throws {SyntaxError} when `text` is not a duration.
 */
export function parseDuration(text: string): number {
  if (typeof text !== "string") {
    throw new TypeError(`Expected ${DURATION_HINT}, got ${typeof text} ${String(text)}`);
  }
  const fail = () => new SyntaxError(`Expected ${DURATION_HINT}, got ${JSON.stringify(text)}`);
  let total = 0;
  let nextUnit = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    if (match === null) throw fail();
    const rank = DURATION_UNITS.findIndex(([unit]) => unit === match[2]);
    if (rank < nextUnit) throw fail();
    nextUnit = rank + 1;
    total += Number(match[1]) * DURATION_UNITS[rank][1];
  }
  if (nextUnit === 0 || /\s$/.test(text)) throw fail();
  return Math.round(total);
}

/**
 * Parses a size such as `"100B"`, `"512KB"`, `"1.5MB"` or `"10 MiB"` into
 * bytes (rounded to a whole number). `MB` is 1000², `MiB` is 1024².
 *
 * @throws {TypeError} when `text` is not a string.
 * @throws {SyntaxError} when `text` is not a size.
 */
export function parseSize(text: string): number {
  if (typeof text !== "string") {
    throw new TypeError(`Expected ${SIZE_HINT}, got ${typeof text} ${String(text)}`);
  }
  const match = SIZE_TEXT.exec(text);
  const factor = match === null ? undefined : SIZE_UNITS[match[2].toLowerCase()];
  if (match === null || factor === undefined) {
    throw new SyntaxError(`Expected ${SIZE_HINT}, got ${JSON.stringify(text)}`);
  }
  return Math.round(Number(match[1]) * factor);
}

/**
 * Formats milliseconds for people: `"350ms"`, `"12s"`, `"1.5s"`, `"1h 5m"`,
 * `"2d 3h"` (the two largest non-zero units above one minute).
 *
 * @throws {RangeError} when `ms` is negative or not finite.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`Expected a duration of zero or more milliseconds, got ${ms}`);
  }
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${trimDecimal(ms / 1_000, ms < 10_000 ? 1 : 0)}s`;
  let rest = Math.round(ms / 1_000) * 1_000;
  const parts: string[] = [];
  for (const [unit, size] of DURATION_UNITS.slice(0, 4)) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  return parts.slice(0, 2).filter((part) => !part.startsWith("0")).join(" ");
}

/**
 * Formats a byte count with decimal units, matching `parseSize`:
 * `"999 B"`, `"12.3 MB"`, `"2 GB"`.
 *
 * @throws {RangeError} when `bytes` is negative or not finite.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new RangeError(`Expected a byte count of zero or more, got ${bytes}`);
  }
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let index = 0;
  while (index < units.length - 1 && Math.round(value * 10) / 10 >= 1000) {
    value /= 1000;
    index += 1;
  }
  return `${trimDecimal(value, index === 0 ? 0 : 1)} ${units[index]}`;
}

function trimDecimal(value: number, digits: number): string {
  return String(Number(value.toFixed(digits)));
}

/**
 * Silences and the matcher that routes share: which alerts a silence hushes
 * until when, as in Alertmanager. A silenced alert is still recorded (the
 * policy marks its message suppressed); it is only not delivered.
 *
 * Matcher values are exact strings or globs where `*` stands for any run of
 * characters (`"rates*"`, `"*"`). An alert without the field (no `script` on
 * an agent alert, say) has the empty string there, so only a pattern that
 * matches the empty string (`"*"`) matches it.
 *
 * @module
 */

import type { Alert } from "./types.ts";

/** Alert fields a matcher may name; each one given must match. */
export interface AlertMatcher {
  site?: string;
  host?: string;
  script?: string;
  check?: string;
  rule?: string;
  severity?: string;
}

/** The fields of {@linkcode AlertMatcher}, in the order messages list them. */
export const MATCHER_FIELDS = ["site", "host", "script", "check", "rule", "severity"] as const;

/** A silence: alerts matching `match` are suppressed until `until`. */
export interface Silence {
  /** Names the silence in notes and the CLI: `"config-1"`, or a generated id. */
  id: string;
  match: AlertMatcher;
  /** ISO time the silence ends. */
  until: string;
  comment?: string;
  /** Who created it (a CLI user), when not from the config file. */
  createdBy?: string;
}

/** Whether `pattern` (exact text, `*` for any run of characters) matches all of `value`. */
export function globMatch(pattern: string, value: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === value;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!value.startsWith(first) || value.length < first.length + last.length) return false;
  let position = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, position);
    if (found < 0) return false;
    position = found + middle.length;
  }
  return value.length - last.length >= position && value.endsWith(last);
}

/** Whether every field `matcher` names matches `alert` (an empty matcher matches all). */
export function matchesAlert(matcher: AlertMatcher, alert: Alert): boolean {
  return MATCHER_FIELDS.every((field) => {
    const pattern = matcher[field];
    return pattern === undefined || globMatch(pattern, String(alert[field] ?? ""));
  });
}

/** Whether `silence` is still in force at `now` (ms): `until` is later. */
export function isActive(silence: Silence, now: number): boolean {
  const until = Date.parse(silence.until);
  return Number.isFinite(until) && now < until;
}

/** Whether `silence` hushes `alert` at `now` (ms); expired silences match nothing. */
export function matches(silence: Silence, alert: Alert, now: number): boolean {
  return isActive(silence, now) && matchesAlert(silence.match, alert);
}

/** The first silence that hushes `alert` at `now`, if any. */
export function findSilence(
  silences: readonly Silence[],
  alert: Alert,
  now: number,
): Silence | undefined {
  return silences.find((silence) => matches(silence, alert, now));
}

/** The note a silenced message carries: `silenced by <id> until <until>: <comment>`. */
export function silenceNote(silence: Silence): string {
  const base = `silenced by ${silence.id} until ${silence.until}`;
  return silence.comment === undefined || silence.comment === ""
    ? base
    : `${base}: ${silence.comment}`;
}

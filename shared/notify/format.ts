/**
 * Alerts in words: {@linkcode summarizeAlert} gathers what every channel
 * shows (heading, what happened, where, when, the evidence, stderr, link,
 * grouped members), {@linkcode formatAlertText} renders it as plain text
 * with a fenced stderr block (email, Chime, generic JSON), and
 * {@linkcode formatAlertShort} fits it into an SMS (at most 320 characters).
 * Channels with their own markup (Slack, Teams, Discord) render the summary
 * themselves.
 *
 * @module
 */

import type { Alert } from "./types.ts";

/** The most stderr lines a message shows (the last ones). */
export const STDERR_LINES = 15;
/** Each stderr line is cut to this many characters. */
export const STDERR_LINE_CHARS = 300;
/** The most characters of an SMS. */
export const SMS_MAX_CHARS = 320;
/** The most grouped members listed by name; the rest are counted. */
export const GROUP_LISTED = 10;

/** One labelled value: `Host: PICK-WS-07`. */
export interface Fact {
  label: string;
  value: string;
}

/** What a message about one alert says, before any provider's markup. */
export interface AlertSummary {
  /** `[FIRING] CRITICAL rates is crash-looping on PICK-WS-07 (BFI4)`; resolved ones say RESOLVED. */
  heading: string;
  resolved: boolean;
  severity: Alert["severity"];
  /** What happened, in the rule's words. */
  text: string;
  /** Where, when and the evidence, in a fixed order. */
  facts: Fact[];
  /** The last stderr lines, each cut, without code fences inside. */
  stderr: string[];
  link?: string;
  /** One line per grouped member: `PICK-WS-08 (BFI4) rates: exit code 1`. */
  members: string[];
  /** Grouped members not listed in `members`. */
  moreMembers: number;
}

/** Gathers what every channel shows about `alert`. */
export function summarizeAlert(alert: Alert): AlertSummary {
  const resolved = alert.status === "resolved";
  const group = alert.group ?? [];
  const count = group.length > 0 ? ` (+${group.length} more)` : "";
  const heading = `[${resolved ? "RESOLVED" : "FIRING"}] ${alert.severity.toUpperCase()} ${
    oneLine(alert.title)
  }${count}`;
  const facts: Fact[] = [
    { label: "Site", value: alert.site },
    { label: "Host", value: alert.host },
  ];
  if (alert.script !== undefined) facts.push({ label: "Script", value: alert.script });
  if (alert.check !== undefined) facts.push({ label: "Check", value: alert.check });
  facts.push({ label: resolved ? "Resolved at" : "Since", value: alert.at });
  const evidence = describeEvidence(alert);
  if (evidence !== undefined) facts.push(evidence);
  if (alert.restarts !== undefined) {
    facts.push({ label: "Restarts", value: String(alert.restarts) });
  }
  facts.push({ label: "Rule", value: alert.rule });
  const members = group.slice(0, GROUP_LISTED).map(describeMember);
  return {
    heading,
    resolved,
    severity: alert.severity,
    text: resolved && !/resolved|recovered|cleared/i.test(alert.text)
      ? `Resolved: ${alert.text}`
      : alert.text,
    facts,
    stderr: (alert.stderrTail ?? []).slice(-STDERR_LINES).map(cleanStderrLine),
    ...(alert.link === undefined ? {} : { link: alert.link }),
    members,
    moreMembers: Math.max(0, group.length - members.length),
  };
}

/** The evidence of an alert as one fact: the exit, or the value against its threshold. */
export function describeEvidence(alert: Alert): Fact | undefined {
  if (alert.signal !== undefined && alert.signal !== null) {
    return { label: "Exit", value: `killed by ${alert.signal}` };
  }
  if (alert.exitCode !== undefined && alert.exitCode !== null) {
    return { label: "Exit code", value: String(alert.exitCode) };
  }
  if (alert.value !== undefined) {
    const threshold = alert.threshold === undefined ? "" : ` (threshold ${alert.threshold})`;
    return { label: "Value", value: `${alert.value}${threshold}` };
  }
  return undefined;
}

/** The whole message as plain text; stderr sits in a ``` fenced block. */
export function formatAlertText(alert: Alert): string {
  const summary = summarizeAlert(alert);
  const lines = [summary.heading, "", summary.text, ""];
  for (const fact of summary.facts) lines.push(`${fact.label}: ${fact.value}`);
  if (summary.members.length > 0) {
    lines.push("", `Also affected (${summary.members.length + summary.moreMembers}):`);
    for (const member of summary.members) lines.push(`- ${member}`);
    if (summary.moreMembers > 0) lines.push(`- and ${summary.moreMembers} more`);
  }
  if (summary.stderr.length > 0) {
    lines.push(
      "",
      `Last ${summary.stderr.length} lines of stderr:`,
      "```",
      ...summary.stderr,
      "```",
    );
  }
  if (summary.link !== undefined) lines.push("", summary.link);
  return lines.join("\n");
}

/** The message as an SMS: heading, the evidence and the link, at most 320 characters. */
export function formatAlertShort(alert: Alert): string {
  const summary = summarizeAlert(alert);
  const evidence = describeEvidence(alert);
  const parts = [summary.heading.replace(/^\[(\w+)\] /, "$1: ")];
  if (evidence !== undefined) parts.push(`${evidence.label.toLowerCase()} ${evidence.value}`);
  if (alert.restarts !== undefined && alert.restarts > 0) parts.push(`${alert.restarts} restarts`);
  parts.push(alert.at.replace(/\.\d+Z$/, "Z"));
  const body = parts.join(", ");
  const link = alert.link === undefined ? "" : ` ${alert.link}`;
  if (body.length + link.length <= SMS_MAX_CHARS) return body + link;
  // The link is only worth sending whole; without room for it, the words come first.
  return cut(body, SMS_MAX_CHARS);
}

/** A ``` block of the last lines that fit in `max` characters. */
export function codeBlock(lines: string[], max: number): string {
  const kept: string[] = [];
  let size = 8;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (size + lines[i].length + 1 > max) break;
    kept.unshift(lines[i]);
    size += lines[i].length + 1;
  }
  return "```\n" + kept.join("\n") + "\n```";
}

/** A test message as plain text. */
export function formatTestText(text: string): string {
  return `[TEST] ${text}`;
}

/** Cuts `text` to at most `max` characters, ending in "…" when cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - 1)).join("") + "…";
}

function describeMember(member: Alert): string {
  const where = `${member.host} (${member.site})${
    member.script === undefined ? "" : ` ${member.script}`
  }`;
  const evidence = describeEvidence(member);
  const what = evidence === undefined
    ? oneLine(member.title)
    : `${evidence.label.toLowerCase()} ${evidence.value}`;
  return `${where}: ${what}`;
}

function cleanStderrLine(line: string): string {
  // A fence inside the block would end it early; a zero-width space keeps the look.
  return cut(line.replace(/\r?\n$/, "").replaceAll("```", "`\u200b``"), STDERR_LINE_CHARS);
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

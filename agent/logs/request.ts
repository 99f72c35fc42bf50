/**
 * The answer to the collector's read-only `logs` command: the last lines of
 * a script's log, or the lines written after a cursor, parsed into time,
 * stream and text and bounded in count and size so that the ack fits in an
 * ingest.
 *
 * A cursor is `<time>#<n>`: the time tag of the last line handed out and
 * how many lines with that tag (counted from the first of them) were handed
 * out. Lines written in one batch share a time tag, so the count tells
 * them apart; a line without the agent's tag (a log written by
 * `agent --once`) takes the tag of the line before it.
 *
 * @module
 */

import {
  type LogLine,
  type LogsParams,
  type LogsPayload,
  MAX_LOG_LINE_CHARS,
  MAX_LOG_LINES,
} from "../../shared/protocol.ts";
import { readLastLines } from "./tail.ts";

/** The lines looked at for an answer: enough to find a cursor among a burst of new lines. */
const WINDOW_LINES = MAX_LOG_LINES * 2;

/** The lines of one answer take at most this many bytes of JSON. */
export const MAX_LOGS_PAYLOAD_BYTES = 256 * 1024;

const TAGGED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (out|err) (.*)$/s;
const CURSOR = /^(\S*)#(\d{1,7})$/;
const encoder = new TextEncoder();

/** A parsed line and its place for cursors. */
interface Placed {
  line: LogLine;
  /** The time tag it sorts by ("" before the first tagged line). */
  tag: string;
  /** How many lines before it in the window have the same tag. */
  rank: number;
}

/** One line of the agent's log format (`<ISO time> out|err <text>`) as the protocol's line. */
export function parseLogLine(raw: string): LogLine {
  const match = TAGGED.exec(raw);
  if (match === null) return { at: null, stream: "other", text: cut(raw) };
  return { at: match[1], stream: match[2] === "err" ? "stderr" : "stdout", text: cut(match[3]) };
}

/**
 * Reads the log at `path` for a `logs` command: the last `params.lines`
 * lines, or with `params.after` at most that many of the lines written
 * since, oldest first. A missing log answers no lines.
 *
 * @throws {SyntaxError} when `params.after` is not a cursor of this format.
 */
export async function readLogsAnswer(path: string, params: LogsParams): Promise<LogsPayload> {
  const after = params.after === undefined ? null : parseCursor(params.after);
  let raw: string[];
  try {
    raw = await readLastLines(path, WINDOW_LINES);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    raw = [];
  }
  const placed = place(raw);
  if (after === null) {
    const chosen = fitNewest(placed.slice(-params.lines));
    return answer(chosen, params.after ?? "#0", false);
  }
  const start = placed.findIndex((p) =>
    p.tag > after.tag || (p.tag === after.tag && p.rank >= after.count)
  );
  if (start < 0) return answer([], params.after!, false);
  // Everything in the window is newer than the cursor: lines in between may be missing.
  const truncated = start === 0 && raw.length === WINDOW_LINES && placed[0].tag !== after.tag;
  const chosen = fitOldest(placed.slice(start, start + params.lines));
  return answer(chosen, params.after!, truncated);
}

function answer(chosen: Placed[], previous: string, truncated: boolean): LogsPayload {
  const last = chosen.at(-1);
  return {
    lines: chosen.map((p) => p.line),
    cursor: last === undefined ? previous : `${last.tag}#${last.rank + 1}`,
    truncated,
  };
}

function parseCursor(text: string): { tag: string; count: number } {
  const match = CURSOR.exec(text);
  if (match === null || (match[1] !== "" && Number.isNaN(Date.parse(match[1])))) {
    throw new SyntaxError(
      `Invalid log cursor: expected one from an earlier answer like "2026-12-01T08:28:09.123Z#1", ` +
        `got ${JSON.stringify(text)}`,
    );
  }
  return { tag: match[1], count: Number(match[2]) };
}

function place(raw: string[]): Placed[] {
  const placed: Placed[] = [];
  let tag = "";
  let rank = 0;
  for (const text of raw) {
    const line = parseLogLine(text);
    const next = line.at ?? tag;
    rank = next === tag && placed.length > 0 ? rank + 1 : 0;
    tag = next;
    placed.push({ line, tag, rank });
  }
  return placed;
}

/** The newest of `lines` that fit in the byte budget. */
function fitNewest(lines: Placed[]): Placed[] {
  let bytes = 0;
  let i = lines.length;
  while (i > 0) {
    bytes += size(lines[i - 1]);
    if (bytes > MAX_LOGS_PAYLOAD_BYTES) break;
    i--;
  }
  return lines.slice(i);
}

/** The oldest of `lines` that fit in the byte budget (the rest follow with the next cursor). */
function fitOldest(lines: Placed[]): Placed[] {
  let bytes = 0;
  let i = 0;
  while (i < lines.length) {
    bytes += size(lines[i]);
    if (bytes > MAX_LOGS_PAYLOAD_BYTES) break;
    i++;
  }
  return lines.slice(0, i);
}

function size(p: Placed): number {
  return encoder.encode(JSON.stringify(p.line)).length + 1;
}

function cut(text: string): string {
  return text.length > MAX_LOG_LINE_CHARS ? `${text.slice(0, MAX_LOG_LINE_CHARS - 3)}...` : text;
}

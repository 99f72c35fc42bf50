/**
 * Turns the byte chunks of a child's pipe into complete text lines.
 *
 * Lines are found on the byte 0x0A, which UTF-8 never uses inside a
 * multibyte character, so runs of complete lines are decoded in one call.
 * All bytes go through one `TextDecoder` in stream mode, in order, so a
 * character split across chunks decodes correctly; an overlong line is cut
 * into pieces on character boundaries.
 */

/** Options of a {@linkcode LineSplitter}. */
export interface LineSplitterOptions {
  /** A line longer than this many bytes is emitted in pieces of this size. Default 64 KiB. */
  maxLineBytes?: number;
}

/** Default for {@linkcode LineSplitterOptions.maxLineBytes}. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;

/** Splits Uint8Array chunks into lines without "\n" or a trailing "\r", with bounded memory. */
export class LineSplitter {
  #decoder = new TextDecoder("utf-8", { fatal: false });
  #maxLineBytes: number;
  #pending: Uint8Array;
  #pendingLength = 0;

  /** Creates a splitter; `maxLineBytes` bounds the bytes held for one partial line. */
  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 4) {
      throw new RangeError(`Invalid maxLineBytes: expected an integer >= 4, got ${max}`);
    }
    this.#maxLineBytes = max;
    this.#pending = new Uint8Array(max);
  }

  /** Feeds one chunk; returns the lines (or overlong-line pieces) it completes. */
  push(chunk: Uint8Array): string[] {
    const out: string[] = [];
    const max = this.#maxLineBytes;
    let start = 0;
    let runStart = -1;
    while (true) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      if (this.#pendingLength === 0 && nl - start <= max) {
        if (runStart < 0) runStart = start;
        start = nl + 1;
        continue;
      }
      if (runStart >= 0) {
        this.#decodeRun(chunk.subarray(runStart, start), out);
        runStart = -1;
      }
      this.#append(chunk.subarray(start, nl), out);
      out.push(stripCr(this.#takePending()));
      start = nl + 1;
    }
    if (runStart >= 0) this.#decodeRun(chunk.subarray(runStart, start), out);
    this.#append(chunk.subarray(start), out);
    return out;
  }

  /** Flushes the final partial line, if any; the splitter is then empty. */
  end(): string[] {
    if (this.#pendingLength === 0) {
      const rest = this.#decoder.decode();
      return rest === "" ? [] : [rest];
    }
    return [stripCr(this.#takePending())];
  }

  /** Decodes bytes that are whole lines, each ending in "\n". */
  #decodeRun(bytes: Uint8Array, out: string[]): void {
    const lines = this.#decoder.decode(bytes, { stream: true }).split("\n");
    lines.pop();
    for (const line of lines) out.push(stripCr(line));
  }

  /** Adds bytes of the current partial line, emitting full pieces past the limit. */
  #append(bytes: Uint8Array, out: string[]): void {
    const max = this.#maxLineBytes;
    let rest = bytes;
    while (rest.length > 0) {
      const room = max - this.#pendingLength;
      if (rest.length <= room) {
        this.#pending.set(rest, this.#pendingLength);
        this.#pendingLength += rest.length;
        return;
      }
      this.#pending.set(rest.subarray(0, room), this.#pendingLength);
      rest = rest.subarray(room);
      const cut = pieceEnd(this.#pending, rest[0]);
      out.push(this.#decoder.decode(this.#pending.subarray(0, cut), { stream: true }));
      this.#pending.copyWithin(0, cut);
      this.#pendingLength = max - cut;
    }
  }

  /** Decodes and clears the pending partial line, flushing the decoder. */
  #takePending(): string {
    const text = this.#decoder.decode(this.#pending.subarray(0, this.#pendingLength));
    this.#pendingLength = 0;
    return text;
  }
}

/**
 * Where to cut a full buffer so the piece ends on a character boundary: before
 * the lead byte of a character that `next` (the byte after the buffer) continues.
 * Invalid UTF-8 is cut at the full length.
 */
function pieceEnd(buffer: Uint8Array, next: number): number {
  if (!isContinuation(next)) return buffer.length;
  for (let i = buffer.length - 1; i >= buffer.length - 3 && i > 0; i--) {
    if (!isContinuation(buffer[i])) return i;
  }
  return buffer.length;
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/**
 * Reads `stream` to its end, calling `onLines` once per chunk with that chunk's
 * complete lines (and once more with a final partial line) and awaiting it.
 * If `onLines` throws, the stream is cancelled and the error is rethrown.
 */
export async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  onLines: (lines: string[]) => void | Promise<void>,
  options: LineSplitterOptions = {},
): Promise<void> {
  const splitter = new LineSplitter(options);
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      const lines = splitter.push(value);
      if (lines.length > 0) await onLines(lines);
    }
    const last = splitter.end();
    if (last.length > 0) await onLines(last);
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

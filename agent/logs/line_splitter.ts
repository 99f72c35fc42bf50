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
    // Grown on demand: most scripts never print a line this long, and an idle
    // agent holds two splitters per script.
    this.#pending = new Uint8Array(Math.min(max, 256));
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
      if (this.#pendingLength + Math.min(rest.length, room) > this.#pending.length) {
        this.#grow(this.#pendingLength + Math.min(rest.length, room));
      }
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

  #grow(needed: number): void {
    let size = this.#pending.length;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(Math.min(size, this.#maxLineBytes));
    grown.set(this.#pending.subarray(0, this.#pendingLength));
    this.#pending = grown;
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
  for await (const chunk of readChunks(stream)) {
    const lines = splitter.push(chunk);
    if (lines.length > 0) await onLines(lines);
  }
  const last = splitter.end();
  if (last.length > 0) await onLines(last);
}

const MIN_READ_BYTES = 4 * 1024;
const MAX_READ_BYTES = 64 * 1024;

/**
 * The chunks of `stream`. A byte stream (a child's pipe) is read into one
 * reused buffer: the default reader allocates 64 KiB per pending read, which
 * an idle agent would hold for both streams of every script. The buffer
 * starts small and doubles whenever a read fills it, so a flood is still
 * read in big chunks. Each chunk is valid only until the next is asked for.
 */
async function* readChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    // not a byte stream
  }
  const reader = byob ?? stream.getReader();
  let buffer: Uint8Array<ArrayBuffer> = new Uint8Array(MIN_READ_BYTES);
  try {
    while (true) {
      const result = byob
        ? await byob.read(buffer)
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (result.done || !result.value) return;
      yield result.value;
      if (!byob) continue;
      // The read took `buffer` over; its memory comes back as result.value.buffer.
      const size = result.value.buffer.byteLength;
      buffer = result.value.byteLength === size && size < MAX_READ_BYTES
        ? new Uint8Array(size * 2)
        : new Uint8Array(result.value.buffer as ArrayBuffer);
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

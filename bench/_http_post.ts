/**
 * The load generator's HTTP client: POSTs over kept-alive HTTP/1.1 connections of its own, one
 * request at a time on each, as load generators like `wrk` do. `fetch` cost the bench's process
 * about 0.14 ms of CPU a request, a third of what the servers spend, on the same two cores; this
 * about 0.07 ms: it writes a request's bytes as they are and reads the answer's status, length
 * and body, nothing else. Only what the bench's servers answer is understood: a body with a
 * `Content-Length`, a chunked one, or none (204, 304). A kept-alive connection the server closed
 * while idle fails the next request on it, which the bench counts as an error: neither server
 * closed one in the bench's 30 s pause (0 errors after it).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An answer: its status and body text. */
export interface Answer {
  status: number;
  body: string;
}

/** Where a connection's unread bytes are kept; grows for a larger answer. */
const FIRST_BUFFER_BYTES = 16 * 1024;
/** An answer larger than this is refused (the bench's servers answer in a few hundred bytes). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** One kept-alive connection and the bytes it has read past the last answer. */
class Connection {
  readonly conn: Deno.TcpConn;
  #buffer = new Uint8Array(FIRST_BUFFER_BYTES);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Reads at least one more byte into the buffer (moved or grown to make room); false at the end. */
  async #fill(): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buffer.length) {
      const unread = this.#end - this.#start;
      if (unread * 2 > this.#buffer.length) {
        if (this.#buffer.length * 2 > MAX_ANSWER_BYTES) {
          throw new RangeError(`an answer over ${MAX_ANSWER_BYTES} bytes`);
        }
        const next = new Uint8Array(this.#buffer.length * 2);
        next.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = next;
      } else this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = unread;
    }
    const n = await this.conn.read(this.#buffer.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** The next line ending in CRLF, without it. */
  async #line(): Promise<string> {
    for (;;) {
      for (let i = this.#start; i + 1 < this.#end; i++) {
        if (this.#buffer[i] === 13 && this.#buffer[i + 1] === 10) {
          const line = decoder.decode(this.#buffer.subarray(this.#start, i));
          this.#start = i + 2;
          return line;
        }
      }
      if (!(await this.#fill())) throw new Error("the connection closed inside an answer's head");
    }
  }

  /** The next `length` bytes. */
  async #bytes(length: number): Promise<Uint8Array> {
    if (length > MAX_ANSWER_BYTES) throw new RangeError(`an answer over ${MAX_ANSWER_BYTES} bytes`);
    while (this.#end - this.#start < length) {
      if (!(await this.#fill())) throw new Error("the connection closed inside an answer's body");
    }
    const bytes = this.#buffer.slice(this.#start, this.#start + length);
    this.#start += length;
    return bytes;
  }

  /** Sends `request` and reads its answer; whether the connection may be used again. */
  async exchange(request: Uint8Array): Promise<Answer & { again: boolean }> {
    for (let written = 0; written < request.length;) {
      written += await this.conn.write(request.subarray(written));
    }
    const statusLine = await this.#line();
    const status = Number(statusLine.split(" ", 3)[1]);
    if (!statusLine.startsWith("HTTP/1.") || !(status >= 100 && status < 600)) {
      throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(statusLine.slice(0, 80))}`);
    }
    let length = -1, chunked = false, again = true;
    for (;;) {
      const line = await this.#line();
      if (line === "") break;
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.includes("chunked");
      else if (name === "connection") again = value !== "close";
    }
    if (chunked) {
      const chunks = new TextDecoder();
      let text = "";
      for (;;) {
        const size = parseInt(await this.#line(), 16);
        if (!(size >= 0)) throw new Error("a chunk without a valid size");
        if (size === 0) break;
        text += chunks.decode(await this.#bytes(size), { stream: true });
        if (await this.#line() !== "") throw new Error("a chunk longer than its size");
      }
      while (await this.#line() !== "") { /* a trailer */ }
      return { status, body: text + chunks.decode(), again };
    }
    if (status === 204 || status === 304) length = 0; // no body, whatever the head says
    if (!(length >= 0)) throw new Error("an answer with neither a length nor chunks");
    return { status, body: decoder.decode(await this.#bytes(length)), again };
  }
}

/** POSTs to one server (`http://host:port`) over kept-alive connections, opened as needed. */
export class Poster {
  readonly #host: string;
  readonly #port: number;
  readonly #authority: string;
  #idle: Connection[] = [];
  #open = new Set<Connection>();

  constructor(base: string) {
    const url = new URL(base);
    if (url.protocol !== "http:") throw new TypeError(`Poster speaks plain HTTP, got ${base}`);
    this.#host = url.hostname;
    this.#port = Number(url.port || 80);
    this.#authority = url.host;
  }

  /**
   * POSTs `body` (JSON) to `path` with `headers`; the answer, or an error when none came within
   * `timeoutMs` or before `signal` aborted (the connection is closed then), or the connection
   * failed. Never retries.
   */
  async post(
    path: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<Answer> {
    signal.throwIfAborted();
    const bytes = encoder.encode(body);
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.#authority}\r\n` +
      `content-type: application/json\r\ncontent-length: ${bytes.length}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    const headBytes = encoder.encode(head + "\r\n");
    const request = new Uint8Array(headBytes.length + bytes.length);
    request.set(headBytes);
    request.set(bytes, headBytes.length);
    const connection = this.#idle.pop() ??
      new Connection(await Deno.connect({ hostname: this.#host, port: this.#port }));
    this.#open.add(connection);
    const drop = () => this.#drop(connection);
    const timer = setTimeout(drop, timeoutMs);
    signal.addEventListener("abort", drop, { once: true });
    try {
      signal.throwIfAborted(); // aborted while connecting
      const { again, ...answer } = await connection.exchange(request);
      if (again) this.#idle.push(connection);
      else this.#drop(connection);
      return answer;
    } catch (error) {
      this.#drop(connection);
      throw error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", drop);
    }
  }

  #drop(connection: Connection): void {
    if (!this.#open.delete(connection)) return;
    this.#idle = this.#idle.filter((c) => c !== connection);
    try {
      connection.conn.close();
    } catch { /* closed already */ }
  }

  /** Closes every connection. */
  close(): void {
    for (const connection of [...this.#open]) this.#drop(connection);
  }
}

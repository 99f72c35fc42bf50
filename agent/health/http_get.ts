/**
 * One HTTP/1.1 request over a connection of its own, for `http://` probes: the request sent
 * with `Connection: close`, the status line and headers read, and the body read only when a
 * probe looks for text in it, up to a limit or until the text is found.
 *
 * Why not `fetch`: each `fetch` leaves objects V8's young-generation collector cannot free (the
 * response's body stream is registered for finalization), so 100 probes every 10 s grew the
 * agent's old generation by ~190 kB a second between full collections (bench/README.md, issue
 * 15). Like a Kubernetes probe, this one connects directly: no pool, no proxy. `probes.ts` keeps
 * `fetch` for `https://`, for URLs with credentials and when a proxy is configured.
 */

/** What a probe needs of a response. */
export interface HttpAnswer {
  status: number;
  /** The `Location` header, or null. */
  location: string | null;
  /** The body as text, read only when asked for (see `httpGet`); "" otherwise. */
  text: string;
}

/** Options of `httpGet()`. */
export interface HttpGetOptions {
  method: "GET" | "HEAD" | "POST";
  /** Read the body until it contains this text (or ends, or reaches `bodyLimit`). */
  find?: string;
  /** At most this many characters of the body are read. */
  bodyLimit: number;
  /** Aborting closes the connection; the pending read or write then rejects. */
  signal: AbortSignal;
}

/** A response that is not HTTP/1.x as this client reads it. */
export class HttpProtocolError extends Error {
  override name = "HttpProtocolError";
}

/** The status line and headers together may not exceed this. */
const HEAD_LIMIT = 64 * 1024;
/** A chunk-size line may not exceed this. */
const LINE_LIMIT = 1024;
const encoder = new TextEncoder();

/** Sends one request to an `http:` URL and reads its answer; throws on a network or protocol error. */
export async function httpGet(url: URL, options: HttpGetOptions): Promise<HttpAnswer> {
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? 80 : Number(url.port);
  const { signal } = options;
  const conn = await Deno.connect({ hostname, port, signal });
  const close = () => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  signal.addEventListener("abort", close, { once: true });
  try {
    // Aborted while connecting: the listener came too late to hear it.
    signal.throwIfAborted();
    await writeAll(conn, encoder.encode(requestHead(url, options.method)));
    const input = new Input(conn);
    let head = await readHead(input);
    // An interim answer (100 Continue, 103 Early Hints) is followed by the real one.
    while (head.status < 200) head = await readHead(input);
    const location = head.headers.get("location") ?? null;
    const hasBody = options.method !== "HEAD" && head.status !== 204 && head.status !== 304;
    const text = options.find !== undefined && hasBody
      ? await readBody(input, head.headers, options.find, options.bodyLimit)
      : "";
    return { status: head.status, location, text };
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

function requestHead(url: URL, method: string): string {
  const lines = [
    `${method} ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "User-Agent: scriptmon-probe",
    "Accept: */*",
    "Accept-Encoding: identity",
    "Connection: close",
  ];
  if (method === "POST") lines.push("Content-Length: 0");
  return lines.join("\r\n") + "\r\n\r\n";
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let sent = 0; sent < bytes.length;) sent += await conn.write(bytes.subarray(sent));
}

/** A buffered reader over a connection. */
class Input {
  #conn: Deno.Conn;
  #buf = new Uint8Array(8192);
  #start = 0;
  #end = 0;
  /** Bytes taken by `line()` since it was last set to 0. */
  taken = 0;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Reads more; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /**
   * The next line without its CRLF (or LF), as Latin-1; null at the end of the stream. A line
   * longer than `limit` bytes throws `tooLong`.
   */
  async line(limit: number, tooLong: string): Promise<string | null> {
    for (let scanned = 0;;) {
      const at = this.#buf.subarray(this.#start + scanned, this.#end).indexOf(10);
      if (at >= 0) {
        const lf = this.#start + scanned + at;
        const end = lf > this.#start && this.#buf[lf - 1] === 13 ? lf - 1 : lf;
        const text = latin1(this.#buf.subarray(this.#start, end));
        this.taken += lf + 1 - this.#start;
        this.#start = lf + 1;
        return text;
      }
      scanned = this.#end - this.#start;
      if (scanned >= limit) throw new HttpProtocolError(tooLong);
      if (!(await this.#fill())) {
        if (this.#end === this.#start) return null;
        throw new HttpProtocolError("the connection closed in the middle of a line");
      }
    }
  }

  /** Up to `max` bytes (at least one); null at the end of the stream. */
  async some(max: number): Promise<Uint8Array | null> {
    if (this.#end === this.#start && !(await this.#fill())) return null;
    const n = Math.min(max, this.#end - this.#start);
    const bytes = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return bytes;
  }
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

interface Head {
  status: number;
  /** Lower-cased names; a repeated header's values joined with ", ". */
  headers: Map<string, string>;
}

async function readHead(input: Input): Promise<Head> {
  const tooLong = `the response's status line and headers are longer than ${HEAD_LIMIT} bytes`;
  input.taken = 0;
  const statusLine = await input.line(HEAD_LIMIT, tooLong);
  if (statusLine === null) {
    throw new HttpProtocolError("the connection closed before a response");
  }
  const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (match === null) {
    const shown = JSON.stringify(statusLine.slice(0, 80));
    throw new HttpProtocolError(`not an HTTP/1.x status line: ${shown}`);
  }
  const headers = new Map<string, string>();
  for (;;) {
    const line = await input.line(Math.max(1, HEAD_LIMIT - input.taken), tooLong);
    if (line === null) throw new HttpProtocolError("the connection closed in the headers");
    if (input.taken > HEAD_LIMIT) throw new HttpProtocolError(tooLong);
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return { status: Number(match[1]), headers };
}

/** The body's text, read until it contains `find`, ends, or reaches `limit` characters. */
async function readBody(
  input: Input,
  headers: Map<string, string>,
  find: string,
  limit: number,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const bytes of bodyBytes(input, headers)) {
    // Only the new text, and the needle's length before it, can hold a first match.
    const searchFrom = Math.max(0, text.length - find.length + 1);
    text += decoder.decode(bytes, { stream: true });
    if (text.length >= limit || text.indexOf(find, searchFrom) >= 0) return text;
  }
  return text + decoder.decode();
}

/** The body's bytes as framed by `Transfer-Encoding: chunked`, `Content-Length` or the close. */
async function* bodyBytes(input: Input, headers: Map<string, string>): AsyncGenerator<Uint8Array> {
  const encoding = headers.get("transfer-encoding");
  if (encoding !== undefined && /(?:^|,)\s*chunked\s*$/i.test(encoding)) {
    for (;;) {
      const sizeLine = await input.line(
        LINE_LIMIT,
        `a chunk-size line is longer than ${LINE_LIMIT} bytes`,
      );
      if (sizeLine === null) throw new HttpProtocolError("the connection closed in the body");
      const size = sizeLine.split(";")[0].trim();
      if (!/^[0-9a-f]{1,12}$/i.test(size)) {
        throw new HttpProtocolError(`bad chunk size ${JSON.stringify(sizeLine.slice(0, 40))}`);
      }
      const count = parseInt(size, 16);
      if (count === 0) return;
      yield* exactly(input, count);
      if ((await input.line(LINE_LIMIT, "a chunk does not end with CRLF")) !== "") {
        throw new HttpProtocolError("a chunk does not end with CRLF");
      }
    }
  }
  const length = headers.get("content-length");
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) {
      throw new HttpProtocolError(`bad Content-Length ${JSON.stringify(length.slice(0, 40))}`);
    }
    yield* exactly(input, Number(length));
    return;
  }
  for (let bytes = await input.some(Infinity); bytes !== null; bytes = await input.some(Infinity)) {
    yield bytes;
  }
}

async function* exactly(input: Input, count: number): AsyncGenerator<Uint8Array> {
  for (let left = count; left > 0;) {
    const bytes = await input.some(left);
    if (bytes === null) throw new HttpProtocolError("the connection closed in the body");
    left -= bytes.length;
    yield bytes;
  }
}

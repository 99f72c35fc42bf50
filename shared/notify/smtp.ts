/**
 * A small SMTP client (RFC 5321) over sockets the caller passes in:
 * EHLO, STARTTLS (then EHLO again) or implicit TLS, AUTH PLAIN or LOGIN,
 * MAIL FROM, RCPT TO each recipient, DATA with a plain-text UTF-8 message,
 * QUIT. A 4xx reply is a {@linkcode SmtpError} with `retryable: true`, a 5xx
 * one with `retryable: false`.
 *
 * Credentials go only over TLS, unless the server is on a loopback address.
 * A server that was asked for STARTTLS and does not offer it is an error,
 * never a silent downgrade.
 *
 * @module
 */

import { isLoopbackHost } from "./webhook_schema.ts";

/** The whole transaction's time limit, by default. */
export const SMTP_TIMEOUT_MS = 30_000;

/** A refusal by the server, or a broken conversation. */
export class SmtpError extends Error {
  /** The reply code, when the server answered (0 otherwise). */
  readonly code: number;
  /** True for 4xx replies and broken connections: try again later. */
  readonly retryable: boolean;
  /** The server's reply text, when there was one. */
  readonly reply?: string;

  /** `code` 0 means no reply (a network or protocol problem). */
  constructor(
    message: string,
    options: { code: number; retryable: boolean; reply?: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "SmtpError";
    this.code = options.code;
    this.retryable = options.retryable;
    if (options.reply !== undefined) this.reply = options.reply;
  }
}

/** Where and how to connect. */
export interface SmtpOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). */
  tls: boolean;
  /** Upgrade with STARTTLS after EHLO (port 587). */
  starttls: boolean;
  username?: string;
  password?: string;
  /** Extra trusted CA certificates (PEM), e.g. a test server's self-signed one. */
  caCerts?: string[];
  /** The name this client gives in EHLO; "localhost" by default. */
  clientName?: string;
  connect: typeof Deno.connect;
  startTls?: typeof Deno.startTls;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** One plain-text message. */
export interface MailMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  date: Date;
  /** Without angle brackets: `uuid@example.com`. */
  messageId: string;
}

/** What the server said after the message was accepted. */
export interface SmtpReceipt {
  /** The reply to the final "." of DATA, e.g. "250 OK queued as 1234". */
  reply: string;
}

/** A reply: code and its text lines. */
interface Reply {
  code: number;
  lines: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends one message; throws {@linkcode SmtpError} when it was not accepted. */
export async function sendMail(options: SmtpOptions, message: MailMessage): Promise<SmtpReceipt> {
  for (const address of [message.from, ...message.to]) {
    if (/[\r\n<>]/.test(address)) {
      throw new SmtpError(`Invalid address ${JSON.stringify(address)}`, {
        code: 0,
        retryable: false,
      });
    }
  }
  const timeoutMs = options.timeoutMs ?? SMTP_TIMEOUT_MS;
  let conn: Deno.Conn;
  try {
    conn = await options.connect({ hostname: options.host, port: options.port });
  } catch (cause) {
    throw new SmtpError(
      `Cannot connect to SMTP server ${options.host}:${options.port}: ${messageOf(cause)}`,
      { code: 0, retryable: true, cause },
    );
  }
  const session = new SmtpSession(conn);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    session.close();
  }, timeoutMs);
  const onAbort = () => session.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await converse(session, options, message);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof SmtpError) throw error;
    throw new SmtpError(
      timedOut
        ? `SMTP conversation with ${options.host}:${options.port} timed out after ${timeoutMs} ms`
        : `SMTP conversation with ${options.host}:${options.port} broke: ${messageOf(error)}`,
      { code: 0, retryable: true, cause: error },
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    session.close();
  }
}

async function converse(
  session: SmtpSession,
  options: SmtpOptions,
  message: MailMessage,
): Promise<SmtpReceipt> {
  const clientName = options.clientName ?? "localhost";
  if (options.tls) await session.upgrade(requireStartTls(options), tlsOptions(options));
  expect(await session.read(), 220, "greeting");
  let extensions = await ehlo(session, clientName);
  let secure = options.tls;
  if (!secure && options.starttls) {
    if (!extensions.has("STARTTLS")) {
      throw new SmtpError(
        `SMTP server ${options.host} does not offer STARTTLS (set starttls = false to send without TLS)`,
        { code: 0, retryable: false },
      );
    }
    expect(await session.command("STARTTLS"), 220, "STARTTLS");
    await session.upgrade(requireStartTls(options), tlsOptions(options));
    secure = true;
    extensions = await ehlo(session, clientName);
  }
  if (options.username !== undefined && options.password !== undefined) {
    if (!secure && !isLoopbackHost(options.host)) {
      throw new SmtpError(
        `Refusing to send SMTP credentials to ${options.host} without TLS (set starttls or tls)`,
        { code: 0, retryable: false },
      );
    }
    await authenticate(session, extensions, options.username, options.password);
  }
  const eightBit = extensions.has("8BITMIME") ? " BODY=8BITMIME" : "";
  expect(await session.command(`MAIL FROM:<${message.from}>${eightBit}`), 250, "MAIL FROM");
  for (const recipient of message.to) {
    const reply = await session.command(`RCPT TO:<${recipient}>`);
    if (reply.code !== 250 && reply.code !== 251) fail(reply, `RCPT TO <${recipient}>`);
  }
  expect(await session.command("DATA"), 354, "DATA");
  await session.write(buildMessage(message, { eightBit: eightBit !== "" }) + ".\r\n");
  const accepted = expect(await session.read(), 250, "end of DATA");
  try {
    await session.command("QUIT");
  } catch {
    // the message is accepted; a rude goodbye changes nothing
  }
  return { reply: `${accepted.code} ${accepted.lines.join(" ")}` };
}

/**
 * The message as sent after DATA: headers, a blank line, the body with
 * CRLF line ends and dot-stuffing, ending in CRLF (the caller adds ".").
 */
export function buildMessage(message: MailMessage, options: { eightBit: boolean }): string {
  const text = message.text.replace(/\r\n?/g, "\n");
  const ascii = isAscii(text);
  const longLine = text.split("\n").some((line) => line.length > 900);
  const encoding = ascii && !longLine ? "7bit" : options.eightBit && !longLine ? "8bit" : "base64";
  const headers = [
    `From: ${message.from}`,
    `To: ${message.to.join(", ")}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${rfc5322Date(message.date)}`,
    `Message-ID: <${message.messageId}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Transfer-Encoding: ${encoding}`,
  ];
  const body = encoding === "base64"
    ? (base64Utf8(text).match(/.{1,76}/g) ?? []).join("\r\n")
    : text.split("\n").map((line) => (line.startsWith(".") ? `.${line}` : line)).join("\r\n");
  return `${headers.join("\r\n")}\r\n\r\n${body}\r\n`;
}

/** `Tue, 09 Sep 2025 23:36:00 +0000`. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** A header value as RFC 2047 `=?UTF-8?B?...?=` words when it is not plain ASCII. */
export function encodeHeader(value: string): string {
  const line = value.replace(/[\r\n]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(line)) return line;
  // Encoded words of at most 45 bytes of UTF-8 each, never splitting a character.
  const words: string[] = [];
  let chunk = "";
  for (const char of line) {
    if (encoder.encode(chunk + char).length > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk !== "") words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${base64Utf8(word)}?=`).join("\r\n ");
}

async function ehlo(session: SmtpSession, clientName: string): Promise<Set<string>> {
  const reply = expect(await session.command(`EHLO ${clientName}`), 250, "EHLO");
  const extensions = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    extensions.add(keyword.toUpperCase());
    if (keyword.toUpperCase() === "AUTH") {
      for (const mechanism of params) extensions.add(`AUTH=${mechanism.toUpperCase()}`);
    }
  }
  return extensions;
}

async function authenticate(
  session: SmtpSession,
  extensions: Set<string>,
  username: string,
  password: string,
): Promise<void> {
  if (extensions.has("AUTH=PLAIN")) {
    const token = base64Utf8(`\0${username}\0${password}`);
    expect(await session.command(`AUTH PLAIN ${token}`), 235, "AUTH PLAIN");
    return;
  }
  if (extensions.has("AUTH=LOGIN")) {
    expect(await session.command("AUTH LOGIN"), 334, "AUTH LOGIN");
    expect(await session.command(base64Utf8(username)), 334, "AUTH LOGIN");
    expect(await session.command(base64Utf8(password)), 235, "AUTH LOGIN");
    return;
  }
  throw new SmtpError("SMTP server offers neither AUTH PLAIN nor AUTH LOGIN", {
    code: 0,
    retryable: false,
  });
}

function expect(reply: Reply, code: number, step: string): Reply {
  if (reply.code !== code) fail(reply, step);
  return reply;
}

function fail(reply: Reply, step: string): never {
  const text = reply.lines.join(" ").slice(0, 500);
  throw new SmtpError(`SMTP server refused ${step}: ${reply.code} ${text}`, {
    code: reply.code,
    retryable: reply.code >= 400 && reply.code < 500,
    reply: `${reply.code} ${text}`,
  });
}

function requireStartTls(options: SmtpOptions): typeof Deno.startTls {
  if (options.startTls === undefined) {
    throw new SmtpError("TLS for SMTP needs startTls in the channel's deps", {
      code: 0,
      retryable: false,
    });
  }
  return options.startTls;
}

function tlsOptions(options: SmtpOptions): Deno.StartTlsOptions {
  return {
    hostname: options.host,
    ...(options.caCerts === undefined ? {} : { caCerts: options.caCerts }),
  };
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads CRLF-terminated replies and writes commands on one connection. */
class SmtpSession {
  #conn: Deno.Conn;
  #buffer = "";
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Sends one command line and reads its reply. */
  async command(line: string): Promise<Reply> {
    await this.write(`${line}\r\n`);
    return await this.read();
  }

  async write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      written += await this.#conn.write(bytes.subarray(written));
    }
  }

  /** One reply, all its `250-` lines up to the `250 ` one. */
  async read(): Promise<Reply> {
    const lines: string[] = [];
    while (true) {
      const line = await this.#readLine();
      const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
      if (match === null) {
        throw new SmtpError(`Malformed SMTP reply ${JSON.stringify(line.slice(0, 100))}`, {
          code: 0,
          retryable: true,
        });
      }
      lines.push(match[3]);
      if (match[2] !== "-") return { code: Number(match[1]), lines };
      if (lines.length > 100) {
        throw new SmtpError("SMTP reply of more than 100 lines", { code: 0, retryable: true });
      }
    }
  }

  /** Switches to TLS; a server that sent more after its 220 is not trusted (RFC 3207). */
  async upgrade(startTls: typeof Deno.startTls, options: Deno.StartTlsOptions): Promise<void> {
    if (this.#buffer !== "") {
      throw new SmtpError("SMTP server sent data before the TLS handshake", {
        code: 0,
        retryable: false,
      });
    }
    this.#conn = await startTls(this.#conn as Deno.TcpConn, options);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #readLine(): Promise<string> {
    const chunk = new Uint8Array(4096);
    while (true) {
      const end = this.#buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return line;
      }
      if (this.#buffer.length > 64 * 1024) {
        throw new SmtpError("SMTP reply line longer than 64 KiB", { code: 0, retryable: true });
      }
      const count = await this.#conn.read(chunk);
      if (count === null) throw new Error("connection closed by the server");
      this.#buffer += decoder.decode(chunk.subarray(0, count), { stream: true });
    }
  }
}

/**
 * One plain-text email over SMTP, sent by nodemailer on the TCP connection
 * the caller's `connect` opens: STARTTLS or implicit TLS (nodemailer's, with
 * `node:tls`), AUTH PLAIN (LOGIN when the server offers only that), MAIL
 * FROM, RCPT TO each recipient, DATA. A 4xx reply is a {@linkcode SmtpError}
 * with `retryable: true`, a 5xx one with `retryable: false`.
 *
 * Credentials go only over TLS, unless the server is on a loopback address.
 * A server that was asked for STARTTLS and refuses it is an error, never a
 * silent downgrade. A recipient refused while others are accepted does not
 * stop the message: the receipt names it.
 *
 * @module
 */

// nodemailer (about 1 MB of code) is imported when the first mail goes out, not at start:
// most agents never send one.
import type { NodemailerError, SMTPSentMessageInfo } from "nodemailer";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { rootCertificates } from "node:tls";
import { isLoopbackHost } from "./webhook_schema.ts";
import { formatDuration } from "../config/units.ts";

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
  /** Opens the TCP connection; TLS on it is then nodemailer's. */
  connect: typeof Deno.connect;
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
  /** Recipients the server refused while it accepted others, with its reply to each. */
  refused: { recipient: string; reply: string }[];
}

/** Sends one message; throws {@linkcode SmtpError} when it was not accepted. */
export async function sendMail(options: SmtpOptions, message: MailMessage): Promise<SmtpReceipt> {
  const { default: nodemailer } = await import("nodemailer");
  for (const address of [message.from, ...message.to]) {
    if (/[\r\n<>]/.test(address)) {
      throw new SmtpError(`Invalid address ${JSON.stringify(address)}`, {
        code: 0,
        retryable: false,
      });
    }
  }
  const credentials = options.username !== undefined && options.password !== undefined
    ? { user: options.username, pass: options.password }
    : undefined;
  if (credentials && !options.tls && !options.starttls && !isLoopbackHost(options.host)) {
    throw new SmtpError(
      `Refusing to send SMTP credentials to ${options.host} without TLS (set starttls or tls)`,
      { code: 0, retryable: false },
    );
  }
  const raw = await buildMessage(message);
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
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    connection: nodeSocket(conn),
    secure: options.tls,
    requireTLS: options.starttls,
    ignoreTLS: !options.starttls,
    name: options.clientName ?? "localhost",
    ...(credentials === undefined ? {} : { auth: credentials, forceAuth: true }),
    tls: options.caCerts === undefined ? {} : { ca: [...rootCertificates, ...options.caCerts] },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    socketCloseTimeout: 0,
  });
  try {
    const info = await transport.sendMail({
      envelope: { from: message.from, to: message.to },
      raw,
      signal: options.signal === undefined
        ? deadline.signal
        : AbortSignal.any([deadline.signal, options.signal]),
    });
    return receiptOf(info);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw smtpErrorOf(error as NodemailerError, {
      server: `${options.host}:${options.port}`,
      timeoutMs,
      timedOut: deadline.signal.aborted,
    });
  } finally {
    clearTimeout(timer);
    transport.close();
    try {
      conn.close();
    } catch {
      // nodemailer closed it already
    }
  }
}

/**
 * The message as handed to DATA, composed by nodemailer: headers (a
 * non-ASCII subject as RFC 2047 words), a blank line, the body in 7bit,
 * quoted-printable or base64, CRLF line ends. Dot-stuffing is the
 * transport's.
 */
export async function buildMessage(message: MailMessage): Promise<string> {
  const { default: MailComposer } = await import("nodemailer/lib/mail-composer");
  const composer = new MailComposer({
    from: message.from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    date: message.date,
    messageId: `<${message.messageId}>`,
    newline: "windows",
  });
  return (await composer.compile().build()).toString();
}

/**
 * The caller's connection as the socket nodemailer takes. `setTimeout` is
 * the one `net.Socket` method it calls on a plain socket; a no-op here,
 * since {@linkcode sendMail} keeps its own deadline for the whole exchange.
 */
function nodeSocket(conn: Deno.Conn): Socket {
  const socket = Duplex.fromWeb({ readable: conn.readable, writable: conn.writable });
  return Object.assign(socket, { setTimeout: () => socket }) as unknown as Socket;
}

function receiptOf(info: SMTPSentMessageInfo): SmtpReceipt {
  return {
    reply: info.response,
    refused: (info.rejectedErrors ?? []).map((error) => ({
      recipient: error.recipient ?? "",
      reply: error.response ?? error.message,
    })),
  };
}

function smtpErrorOf(
  error: NodemailerError,
  context: { server: string; timeoutMs: number; timedOut: boolean },
): SmtpError {
  const { server, timeoutMs } = context;
  // nodemailer's own timers run with the same limit and may fire first
  if (context.timedOut || error.code === "ETIMEDOUT") {
    return new SmtpError(
      `SMTP conversation with ${server} timed out after ${formatDuration(timeoutMs)}`,
      {
        code: 0,
        retryable: true,
        cause: error,
      },
    );
  }
  if (error.responseCode === undefined || error.response === undefined) {
    return new SmtpError(`SMTP conversation with ${server} broke: ${error.message}`, {
      code: 0,
      retryable: true,
      cause: error,
    });
  }
  const reply = error.response.replace(/\s+/g, " ").slice(0, 500);
  const code = error.responseCode;
  const hint = error.command === "STARTTLS" ? " (set starttls = false to send without TLS)" : "";
  return new SmtpError(`SMTP server refused ${stepOf(error)}: ${reply}${hint}`, {
    code,
    retryable: code >= 400 && code < 500,
    reply,
    cause: error,
  });
}

/** The command the server refused: `AUTH PLAIN`, `RCPT TO <a@b.example>`, `DATA`. */
function stepOf(error: NodemailerError): string {
  if (error.command === "RCPT TO") {
    const refused = error.rejectedErrors?.find((each) => each.response === error.response);
    return refused?.recipient === undefined ? "RCPT TO" : `RCPT TO <${refused.recipient}>`;
  }
  return error.command === "CONN" || error.command === undefined ? "the connection" : error.command;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

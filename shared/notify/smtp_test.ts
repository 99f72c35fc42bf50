import assert from "node:assert/strict";
import { buildMessage, type MailMessage, sendMail, SmtpError } from "./smtp.ts";
import {
  smtpServerAvailable,
  startSmtpServer,
  type TestSmtpServer,
} from "../../tests/_smtp_server.ts";

const available = smtpServerAvailable();

function message(overrides: Partial<MailMessage> = {}): MailMessage {
  return {
    from: "scriptmon@fc.example",
    to: ["ops@fc.example", "lead@fc.example"],
    subject: "[FIRING] CRITICAL rates is crash-looping on PICK-WS-07 (BFI4)",
    text: "rates exited 3 times.\n.hidden line starts with a dot\nTraceback:\n  boom",
    date: new Date("2025-03-04T05:06:07Z"),
    messageId: "0b5c9a1e-test@fc.example",
    ...overrides,
  };
}

async function withServer(fn: (server: TestSmtpServer) => Promise<void>): Promise<void> {
  const server = await startSmtpServer();
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

function options(server: TestSmtpServer, overrides: Partial<Parameters<typeof sendMail>[0]> = {}) {
  return {
    host: "127.0.0.1",
    port: server.port,
    tls: false,
    starttls: true,
    username: server.username,
    password: server.password,
    caCerts: [server.certPem],
    connect: Deno.connect,
    ...overrides,
  };
}

/** Header name → value, folded lines joined the way a mail reader unfolds them. */
function headersOf(head: string): Map<string, string> {
  return new Map(
    head.replace(/\r\n(?=[ \t])/g, "").split("\r\n").map((
      line,
    ) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
  );
}

/** The text of RFC 2047 `=?UTF-8?B?...?=` and `=?UTF-8?Q?...?=` words. */
function decodeWords(value: string): string {
  return value.replace(/\?=\s+=\?/g, "?==?").replace(
    /=\?UTF-8\?([BQ])\?([^?]*)\?=/gi,
    (_, kind: string, text: string) =>
      kind.toUpperCase() === "B"
        ? utf8(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)))
        : decodeQuotedPrintable(text.replaceAll("_", " ")),
  );
}

function decodeQuotedPrintable(text: string): string {
  const binary = text.replace(/=\r\n/g, "").replace(
    /=([0-9A-F]{2})/gi,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  );
  return utf8(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/**
 * A scripted SMTP server on 127.0.0.1 for one connection: it sends
 * `greeting` (none: it stays silent), answers each command with `reply`,
 * keeps the lines after DATA up to "." and accepts them. Every line it
 * received is in `received`, in order.
 */
async function withFakeServer(
  script: { greeting?: string; reply?: (command: string) => string },
  fn: (port: number, received: string[]) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: string[] = [];
  const serving = (async () => {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch {
      return; // the client never came; the test says whether it should have
    }
    const write = (text: string) => conn.write(new TextEncoder().encode(`${text}\r\n`));
    if (script.greeting !== undefined) await write(script.greeting);
    const decoder = new TextDecoder();
    const chunk = new Uint8Array(4096);
    let buffer = "";
    let inData = false;
    for (let count = await conn.read(chunk); count !== null; count = await conn.read(chunk)) {
      buffer += decoder.decode(chunk.subarray(0, count), { stream: true });
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        received.push(line);
        if (inData) {
          if (line === ".") {
            inData = false;
            await write("250 OK queued as 7");
          }
          continue;
        }
        const answer = script.reply?.(line) ?? "500 unexpected";
        inData = answer.startsWith("354");
        await write(answer);
      }
    }
    conn.close();
  })();
  try {
    await fn((listener.addr as Deno.NetAddr).port, received);
  } finally {
    listener.close();
    await serving;
  }
}

Deno.test({
  name: "sendMail() delivers over STARTTLS with AUTH PLAIN to a real SMTP server",
  ignore: !available,
  fn: () =>
    withServer(async (server) => {
      const receipt = await sendMail(options(server), message());
      assert.deepEqual(receipt, { reply: "250 OK queued as 1", refused: [] });
      const [mail] = await server.messages();
      assert.equal(mail.mail_from, "scriptmon@fc.example");
      assert.deepEqual(mail.rcpt_tos, ["ops@fc.example", "lead@fc.example"]);
      assert.equal(mail.tls, true);
      assert.equal(mail.login, "alerts");
      const [head, body] = mail.content.split("\r\n\r\n");
      const headers = headersOf(head);
      assert.equal(headers.get("From"), "scriptmon@fc.example");
      assert.equal(headers.get("To"), "ops@fc.example, lead@fc.example");
      assert.equal(headers.get("Subject"), message().subject);
      assert.equal(headers.get("Date"), "Tue, 04 Mar 2025 05:06:07 +0000");
      assert.equal(headers.get("Message-ID"), "<0b5c9a1e-test@fc.example>");
      assert.equal(headers.get("MIME-Version"), "1.0");
      assert.equal(headers.get("Content-Type"), "text/plain; charset=utf-8");
      assert.equal(headers.get("Content-Transfer-Encoding"), "7bit");
      // The server undoes the dot-stuffing: the line arrives as written.
      assert.equal(
        body,
        "rates exited 3 times.\r\n.hidden line starts with a dot\r\nTraceback:\r\n  boom\r\n",
      );
    }),
});

Deno.test({
  name: "sendMail() fails permanently on a wrong password, naming the step and the code",
  ignore: !available,
  fn: () =>
    withServer(async (server) => {
      await assert.rejects(
        sendMail(options(server, { password: "wrong-password" }), message()),
        (error: unknown) => {
          assert.ok(error instanceof SmtpError);
          assert.equal(error.code, 535);
          assert.equal(error.retryable, false);
          assert.match(error.message, /^SMTP server refused AUTH PLAIN: 535 /);
          assert.doesNotMatch(error.message, /wrong-password/);
          return true;
        },
      );
      assert.deepEqual(await server.messages(), []);
    }),
});

Deno.test({
  name: "sendMail() treats a 4xx recipient reply as retryable and a 5xx one as permanent",
  ignore: !available,
  fn: () =>
    withServer(async (server) => {
      await assert.rejects(
        sendMail(options(server), message({ to: ["busy@fc.example"] })),
        (error: unknown) =>
          error instanceof SmtpError && error.code === 451 && error.retryable &&
          error.reply === "451 4.3.2 Mailbox busy, try again later" &&
          error.message ===
            "SMTP server refused RCPT TO <busy@fc.example>: 451 4.3.2 Mailbox busy, try again later",
      );
      await assert.rejects(
        sendMail(options(server), message({ to: ["nobody@fc.example"] })),
        (error: unknown) =>
          error instanceof SmtpError && error.code === 550 && !error.retryable &&
          error.message ===
            "SMTP server refused RCPT TO <nobody@fc.example>: 550 5.1.1 No such user",
      );
      // One recipient only deferred among refused ones: worth another try.
      await assert.rejects(
        sendMail(options(server), message({ to: ["nobody@fc.example", "busy@fc.example"] })),
        (error: unknown) => error instanceof SmtpError && error.code === 451 && error.retryable,
      );
      assert.deepEqual(await server.messages(), []);
    }),
});

Deno.test({
  name: "sendMail() delivers to the recipients the server accepts and names the refused ones",
  ignore: !available,
  fn: () =>
    withServer(async (server) => {
      const receipt = await sendMail(
        options(server),
        message({ to: ["ops@fc.example", "busy@fc.example"] }),
      );
      assert.deepEqual(receipt, {
        reply: "250 OK queued as 1",
        refused: [
          { recipient: "busy@fc.example", reply: "451 4.3.2 Mailbox busy, try again later" },
        ],
      });
      const mails = await server.messages();
      assert.deepEqual(mails.map((mail) => mail.rcpt_tos), [["ops@fc.example"]]);
    }),
});

Deno.test("sendMail() refuses to send credentials without TLS to a host that is not loopback", async () => {
  // The check comes before any connection: nothing, secret or not, leaves.
  const connected: string[] = [];
  const connect = ((opts: Deno.ConnectOptions): Promise<Deno.TcpConn> => {
    connected.push(opts.hostname ?? "");
    return Promise.reject(new Error("no network in this test"));
  }) as typeof Deno.connect;
  await assert.rejects(
    sendMail({
      host: "mail.fc.example",
      port: 25,
      tls: false,
      starttls: false,
      username: "u",
      password: "p",
      connect,
    }, message()),
    (error: unknown) =>
      error instanceof SmtpError && !error.retryable && error.code === 0 &&
      error.message ===
        "Refusing to send SMTP credentials to mail.fc.example without TLS (set starttls or tls)",
  );
  assert.deepEqual(connected, []);
});

Deno.test("sendMail() authenticates without TLS on loopback, dot-stuffing the message on the wire", async () => {
  await withFakeServer({
    greeting: "220 fake ESMTP",
    reply: (command) =>
      command.startsWith("EHLO ")
        ? "250-fake\r\n250 AUTH PLAIN"
        : command.startsWith("AUTH ")
        ? "235 2.7.0 Accepted"
        : command === "DATA"
        ? "354 End data with <CR><LF>.<CR><LF>"
        : "250 OK",
  }, async (port, received) => {
    const receipt = await sendMail({
      host: "127.0.0.1",
      port,
      tls: false,
      starttls: false,
      username: "u",
      password: "p",
      clientName: "pick-ws-07.fc.example",
      connect: Deno.connect,
    }, message());
    assert.deepEqual(receipt, { reply: "250 OK queued as 7", refused: [] });
    assert.deepEqual(received.slice(0, 6), [
      "EHLO pick-ws-07.fc.example",
      `AUTH PLAIN ${btoa("\0u\0p")}`,
      "MAIL FROM:<scriptmon@fc.example>",
      "RCPT TO:<ops@fc.example>",
      "RCPT TO:<lead@fc.example>",
      "DATA",
    ]);
    const data = received.slice(received.indexOf("DATA") + 1);
    assert.deepEqual(data.slice(data.indexOf("") + 1), [
      "rates exited 3 times.",
      "..hidden line starts with a dot",
      "Traceback:",
      "  boom",
      ".",
    ]);
  });
});

Deno.test("sendMail() never falls back to plain text when the server refuses STARTTLS", async () => {
  await withFakeServer({
    greeting: "220 fake ESMTP",
    reply: (command) =>
      command.startsWith("EHLO ") ? "250-fake\r\n250 AUTH PLAIN" : "502 5.5.1 Not implemented",
  }, async (port, received) => {
    await assert.rejects(
      sendMail({
        host: "127.0.0.1",
        port,
        tls: false,
        starttls: true,
        username: "u",
        password: "p",
        connect: Deno.connect,
      }, message()),
      (error: unknown) =>
        error instanceof SmtpError && error.code === 502 && !error.retryable &&
        error.message ===
          "SMTP server refused STARTTLS: 502 5.5.1 Not implemented (set starttls = false to send without TLS)",
    );
    assert.deepEqual(received, ["EHLO localhost", "STARTTLS"]);
  });
});

Deno.test("sendMail() gives up retryably when the server does not answer within timeoutMs", async () => {
  await withFakeServer({}, async (port) => {
    await assert.rejects(
      sendMail(
        {
          host: "127.0.0.1",
          port,
          tls: false,
          starttls: true,
          connect: Deno.connect,
          timeoutMs: 200,
        },
        message(),
      ),
      (error: unknown) =>
        error instanceof SmtpError && error.retryable && error.code === 0 &&
        error.message === `SMTP conversation with 127.0.0.1:${port} timed out after 200ms`,
    );
  });
});

Deno.test("sendMail() stops when the caller's signal aborts, with the signal's reason", async () => {
  await withFakeServer({}, async (port) => {
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const sending = sendMail(
      {
        host: "127.0.0.1",
        port,
        tls: false,
        starttls: true,
        connect: Deno.connect,
        signal: controller.signal,
      },
      message(),
    );
    controller.abort(reason);
    await assert.rejects(sending, (error: unknown) => error === reason);
  });
});

Deno.test("sendMail() says the server is unreachable, retryably", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    sendMail(
      { host: "127.0.0.1", port, tls: false, starttls: false, connect: Deno.connect },
      message(),
    ),
    (error: unknown) =>
      error instanceof SmtpError && error.retryable && error.code === 0 &&
      error.message.startsWith(`Cannot connect to SMTP server 127.0.0.1:${port}: `),
  );
});

Deno.test("buildMessage() writes CRLF line ends and 7bit for a plain ASCII body", async () => {
  const built = await buildMessage(message({ text: ".a\nb\r\n..c" }));
  const [head, body] = built.split("\r\n\r\n");
  assert.equal(headersOf(head).get("Content-Transfer-Encoding"), "7bit");
  // Dot-stuffing is the transport's (see the loopback test above), not the message's.
  assert.equal(body, ".a\r\nb\r\n..c\r\n");
});

Deno.test("buildMessage() encodes a UTF-8 body so that it decodes back to the text", async () => {
  for (const text of ["Größe überschritten", "日本語のテキスト".repeat(10)]) {
    const [head, body] = (await buildMessage(message({ text }))).split("\r\n\r\n");
    const encoding = headersOf(head).get("Content-Transfer-Encoding");
    assert.ok(body.split("\r\n").every((line) => line.length <= 76 && /^[\x20-\x7e]*$/.test(line)));
    const decoded = encoding === "base64"
      ? utf8(Uint8Array.from(atob(body.replaceAll("\r\n", "")), (c) => c.charCodeAt(0)))
      : encoding === "quoted-printable"
      ? decodeQuotedPrintable(body)
      : assert.fail(`unexpected Content-Transfer-Encoding ${encoding}`);
    assert.equal(decoded.replace(/\r\n$/, ""), text);
  }
});

Deno.test("buildMessage() writes a non-ASCII subject as RFC 2047 words and keeps CR/LF out of headers", async () => {
  const utf8Subject = await buildMessage(
    message({ subject: "Größe überschritten auf PICK-WS-07" }),
  );
  const subject = headersOf(utf8Subject.split("\r\n\r\n")[0]).get("Subject")!;
  assert.match(subject, /^=\?UTF-8\?[BQ]\?/);
  assert.equal(decodeWords(subject), "Größe überschritten auf PICK-WS-07");
  const injected = await buildMessage(message({ subject: "plain\r\nBcc: evil@x.example" }));
  const headers = headersOf(injected.split("\r\n\r\n")[0]);
  assert.equal(headers.get("Bcc"), undefined);
  assert.equal(headers.get("Subject"), "plain Bcc: evil@x.example");
});

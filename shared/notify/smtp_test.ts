import assert from "node:assert/strict";
import { buildMessage, encodeHeader, type MailMessage, sendMail, SmtpError } from "./smtp.ts";
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
    startTls: Deno.startTls,
    ...overrides,
  };
}

Deno.test({
  name: "sendMail() delivers over STARTTLS with AUTH PLAIN to a real SMTP server",
  ignore: !available,
  fn: () =>
    withServer(async (server) => {
      const receipt = await sendMail(options(server), message());
      assert.match(receipt.reply, /^250 OK queued as 1/);
      const [mail] = await server.messages();
      assert.equal(mail.mail_from, "scriptmon@fc.example");
      assert.deepEqual(mail.rcpt_tos, ["ops@fc.example", "lead@fc.example"]);
      assert.equal(mail.tls, true);
      assert.equal(mail.login, "alerts");
      const [head, body] = mail.content.split("\r\n\r\n");
      const headers = new Map(
        head.split("\r\n").map((
          line,
        ) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
      );
      assert.equal(headers.get("From"), "scriptmon@fc.example");
      assert.equal(headers.get("To"), "ops@fc.example, lead@fc.example");
      assert.equal(headers.get("Subject"), message().subject);
      assert.equal(headers.get("Date"), "Tue, 04 Mar 2025 05:06:07 +0000");
      assert.equal(headers.get("Message-ID"), "<0b5c9a1e-test@fc.example>");
      assert.equal(headers.get("MIME-Version"), "1.0");
      assert.equal(headers.get("Content-Type"), "text/plain; charset=utf-8");
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
        sendMail(options(server), message({ to: ["ops@fc.example", "busy@fc.example"] })),
        (error: unknown) =>
          error instanceof SmtpError && error.code === 451 && error.retryable &&
          error.message ===
            "SMTP server refused RCPT TO <busy@fc.example>: 451 4.3.2 Mailbox busy, try again later",
      );
      await assert.rejects(
        sendMail(options(server), message({ to: ["nobody@fc.example"] })),
        (error: unknown) => error instanceof SmtpError && error.code === 550 && !error.retryable,
      );
      assert.deepEqual(await server.messages(), []);
    }),
});

Deno.test({
  name: "sendMail() refuses to send credentials without TLS to a host that is not loopback",
  fn: async () => {
    // A server that greets and offers AUTH, to prove nothing secret leaves before the check.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const received: string[] = [];
    const serving = (async () => {
      const conn = await listener.accept();
      const write = (text: string) => conn.write(new TextEncoder().encode(text));
      await write("220 fake ESMTP\r\n");
      const buf = new Uint8Array(1024);
      const count = await conn.read(buf);
      received.push(new TextDecoder().decode(buf.subarray(0, count ?? 0)));
      await write("250-fake\r\n250 AUTH PLAIN\r\n");
      while ((await conn.read(buf)) !== null) { /* until the client hangs up */ }
      conn.close();
    })();
    const connect = ((opts: Deno.ConnectOptions) =>
      Deno.connect({ ...opts, hostname: "127.0.0.1" })) as typeof Deno.connect;
    await assert.rejects(
      sendMail({
        host: "mail.fc.example",
        port: (listener.addr as Deno.NetAddr).port,
        tls: false,
        starttls: false,
        username: "u",
        password: "p",
        connect,
      }, message()),
      (error: unknown) =>
        error instanceof SmtpError && !error.retryable &&
        error.message ===
          "Refusing to send SMTP credentials to mail.fc.example without TLS (set starttls or tls)",
    );
    await serving;
    listener.close();
    assert.deepEqual(received, ["EHLO localhost\r\n"]);
  },
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

Deno.test("buildMessage() dot-stuffs, uses CRLF and base64 for non-ASCII bodies", () => {
  const ascii = buildMessage(message({ text: ".a\nb\r\n..c" }), { eightBit: false });
  assert.ok(ascii.endsWith("\r\n\r\n..a\r\nb\r\n...c\r\n"));
  assert.match(ascii, /Content-Transfer-Encoding: 7bit\r\n/);
  const utf8 = buildMessage(message({ text: "Größe überschritten" }), { eightBit: false });
  assert.match(utf8, /Content-Transfer-Encoding: base64\r\n/);
  const body = utf8.split("\r\n\r\n")[1].replaceAll("\r\n", "");
  assert.equal(
    new TextDecoder().decode(Uint8Array.from(atob(body), (c) => c.charCodeAt(0))),
    "Größe überschritten",
  );
});

Deno.test("encodeHeader() keeps ASCII and writes RFC 2047 words otherwise, on one logical line", () => {
  assert.equal(encodeHeader("plain\r\nsubject"), "plain subject");
  assert.equal(encodeHeader("Größe"), `=?UTF-8?B?${btoa("Gr\xc3\xb6\xc3\x9fe")}?=`);
});

import assert from "node:assert/strict";
import { createChannel } from "./mod.ts";
import { testAlert } from "./_test_alert.ts";
import type { ResolvedEmailWebhook } from "../webhook_schema.ts";
import { smtpServerAvailable, startSmtpServer } from "../../../tests/_smtp_server.ts";

const NOW = Date.parse("2025-03-04T05:06:07Z");

function webhook(
  port: number,
  overrides: Partial<ResolvedEmailWebhook> = {},
): ResolvedEmailWebhook {
  return {
    name: "mail",
    kind: "email",
    smtpHost: "127.0.0.1",
    smtpPort: port,
    starttls: true,
    tls: false,
    username: "alerts",
    password: "s3cret-pa55",
    from: "scriptmon@fc.example",
    to: ["ops@fc.example"],
    maxAgeMs: 1,
    onUncertain: "skip",
    dedupeWindowMs: 1,
    ...overrides,
  };
}

Deno.test({
  name: "email channel delivers an alert over STARTTLS + AUTH to a real SMTP server",
  ignore: !smtpServerAvailable(),
  fn: async () => {
    const server = await startSmtpServer();
    try {
      const channel = createChannel("mail", webhook(server.port), {
        fetch,
        connect: Deno.connect,
        caCerts: [server.certPem],
        clientName: "pick-ws-07.fc.example",
        now: () => NOW,
      });
      const result = await channel.send({ type: "alert", alert: testAlert() }, {});
      assert.deepEqual(result, { ok: true, status: 250, answer: "250 OK queued as 1" });
      const [mail] = await server.messages();
      assert.equal(mail.tls, true);
      assert.deepEqual(mail.rcpt_tos, ["ops@fc.example"]);
      const split = mail.content.indexOf("\r\n\r\n");
      // Headers unfolded, as a mail reader reads them (RFC 5322 2.2.3): a long subject is folded.
      const head = mail.content.slice(0, split).replace(/\r\n(?=[ \t])/g, "");
      const body = mail.content.slice(split + 4);
      assert.match(
        head,
        /\r\nSubject: \[FIRING\] CRITICAL rates is crash-looping on PICK-WS-07 \(BFI4\) \(\+1 more\)\r\n/,
      );
      assert.match(head, /\r\nDate: Tue, 04 Mar 2025 05:06:07 \+0000\r\n/);
      assert.match(head, /\r\nMessage-ID: <[0-9a-f-]{36}@fc\.example>\r\n/);
      assert.match(body, /^\[FIRING\] CRITICAL/);
      assert.match(body, /\r\nHost: PICK-WS-07\r\n/);
      assert.match(body, /\r\n```\r\nTraceback \(most recent call last\):\r\n/);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "email channel delivers to the recipients accepted and names the refused ones in its answer",
  ignore: !smtpServerAvailable(),
  fn: async () => {
    const server = await startSmtpServer();
    try {
      const channel = createChannel(
        "mail",
        webhook(server.port, { to: ["ops@fc.example", "busy@fc.example"] }),
        { fetch, connect: Deno.connect, caCerts: [server.certPem] },
      );
      const result = await channel.send({ type: "test", text: "hi" }, {});
      assert.deepEqual(result, {
        ok: true,
        status: 250,
        answer:
          "250 OK queued as 1; refused: <busy@fc.example> 451 4.3.2 Mailbox busy, try again later",
      });
      assert.deepEqual((await server.messages()).map((mail) => mail.rcpt_tos), [[
        "ops@fc.example",
      ]]);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "email channel reports an untrusted certificate as a failure without the password",
  ignore: !smtpServerAvailable(),
  fn: async () => {
    const server = await startSmtpServer();
    try {
      const channel = createChannel("mail", webhook(server.port), {
        fetch,
        connect: Deno.connect,
      });
      const result = await channel.send({ type: "test", text: "hi" }, {});
      assert.ok(!result.ok);
      assert.match(result.error, /^SMTP conversation with 127\.0\.0\.1:\d+ broke: /);
      assert.doesNotMatch(JSON.stringify(result), /s3cret-pa55/);
      assert.deepEqual(await server.messages(), []);
    } finally {
      await server.stop();
    }
  },
});

Deno.test("email channel refuses relayed posts and a missing connect, permanently", async () => {
  const channel = createChannel("mail", webhook(25), { fetch });
  const relay = await channel.send({
    type: "relay",
    post: { body: "x", contentType: "text/plain" },
  }, {});
  assert.ok(!relay.ok && !relay.retryable);
  assert.match(relay.error, /^Webhook "mail" cannot relay a script's post/);
  const noSocket = await channel.send({ type: "test", text: "hi" }, {});
  assert.deepEqual(noSocket, {
    ok: false,
    retryable: false,
    error: 'Webhook "mail" (email) needs connect in the channel\'s deps',
  });
});

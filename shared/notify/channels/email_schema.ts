/**
 * `kind = "email"`: the SMTP server, its TLS and credentials, sender and
 * recipients (sent by `email.ts` beside this file).
 *
 * @module
 */
import { z } from "zod";
import {
  common,
  custom,
  emailAddress,
  nonEmptyList,
  port,
  secret,
  strictTable,
  text,
} from "../webhook_fields.ts";

/** Email through an SMTP server. */
export const emailWebhookSchema = strictTable({
  kind: z.literal("email"),
  ...common,
  smtp_host: text,
  smtp_port: port.optional(),
  starttls: z.boolean().optional(),
  tls: z.boolean().optional(),
  username: text.optional(),
  password: secret().optional(),
  /** PEM file of extra CA certificates; the caller reads it and passes `caCerts`. */
  ca_file: text.optional(),
  from: emailAddress,
  to: nonEmptyList(emailAddress, "email address", "email addresses"),
}).superRefine((email, ctx) => {
  if ((email.username === undefined) !== (email.password === undefined)) {
    const missing = email.username === undefined ? "username" : "password";
    const present = missing === "username" ? "password" : "username";
    ctx.addIssue({
      ...custom(`expected ${missing} together with ${present}, got ${present} alone`, undefined),
      path: [missing],
    });
  }
  if (email.tls === true && email.starttls === true) {
    ctx.addIssue({
      ...custom(
        "expected starttls = false with tls = true (implicit TLS needs no STARTTLS), got both true",
        true,
      ),
      path: ["starttls"],
    });
  }
}, { when: () => true });

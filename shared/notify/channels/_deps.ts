/**
 * What a channel gets from its caller: the network functions (shared/ opens
 * nothing itself), a clock, and the extra CA certificates an email server
 * may need (read by the caller from `ca_file`).
 *
 * @module
 */

/** What `createChannel` needs from the caller. */
export interface ChannelDeps {
  fetch: typeof fetch;
  /** For email: opens the TCP connection to the SMTP server. */
  connect?: typeof Deno.connect;
  /**
   * Not used: email's TLS is nodemailer's, on the connection from `connect`.
   * @deprecated Kept while the callers still pass it; drop it from them.
   */
  startTls?: typeof Deno.startTls;
  /** For email: PEM certificates trusted besides the system's (from the webhook's `ca_file`). */
  caCerts?: string[];
  /** For email: the name given in EHLO (the machine's host name); "localhost" by default. */
  clientName?: string;
  /** Milliseconds since the epoch; `Date.now` by default. */
  now?: () => number;
}

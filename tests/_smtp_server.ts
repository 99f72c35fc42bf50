/**
 * A real SMTP server for tests: tests/fixtures/smtp_server.py (Debian's
 * python3-aiosmtpd) with STARTTLS on a self-signed certificate made by
 * openssl, AUTH required, messages saved as JSON files.
 */
import { join, resolve } from "node:path";

/** One message the server accepted. */
export interface ReceivedMail {
  mail_from: string;
  rcpt_tos: string[];
  /** The message as received after DATA (headers and body, CRLF line ends). */
  content: string;
  tls: boolean;
  login: string | null;
}

/** A running test SMTP server; `stop()` kills it by pid and removes its files. */
export interface TestSmtpServer {
  port: number;
  /** The server's certificate (PEM), for `caCerts`. */
  certPem: string;
  username: string;
  password: string;
  /** Messages received so far, in order. */
  messages(): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

/** Debian's python, where python3-aiosmtpd lives, else the one on PATH. */
function python(): string {
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

/** True when python3-aiosmtpd and openssl are installed. */
export function smtpServerAvailable(): boolean {
  try {
    const check = new Deno.Command(python(), {
      args: ["-c", "import aiosmtpd"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    const openssl = new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .outputSync();
    return check.success && openssl.success;
  } catch {
    return false;
  }
}

/** Makes a certificate, starts the server and waits for its READY line. */
export async function startSmtpServer(): Promise<TestSmtpServer> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-smtp-" });
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const out = join(dir, "mail");
  await Deno.mkdir(out);
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-days",
      "1",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!made.success) {
    throw new Error(`openssl failed: ${new TextDecoder().decode(made.stderr)}`);
  }
  const username = "alerts";
  const password = "s3cret-pa55";
  const child = new Deno.Command(python(), {
    args: [
      resolve(import.meta.dirname!, "fixtures", "smtp_server.py"),
      cert,
      key,
      out,
      username,
      password,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let port = 0;
  const deadline = setTimeout(() => child.kill("SIGKILL"), 15_000);
  try {
    while (port === 0) {
      const { value, done } = await reader.read();
      if (done) {
        await child.status;
        throw new Error(`smtp_server.py exited before READY: ${await stderr}`);
      }
      seen += value;
      const match = /READY (\d+)/.exec(seen);
      if (match !== null) port = Number(match[1]);
    }
  } finally {
    clearTimeout(deadline);
  }
  const drain = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe empty */ }
  })();
  return {
    port,
    certPem: await Deno.readTextFile(cert),
    username,
    password,
    async messages() {
      const names: string[] = [];
      for await (const entry of Deno.readDir(out)) {
        if (entry.name.endsWith(".json")) names.push(entry.name);
      }
      names.sort((a, b) => parseInt(a) - parseInt(b));
      return await Promise.all(
        names.map(async (name) =>
          JSON.parse(await Deno.readTextFile(join(out, name))) as ReceivedMail
        ),
      );
    },
    async stop() {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await drain;
      await stderr;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

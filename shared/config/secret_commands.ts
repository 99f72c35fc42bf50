/**
 * `secret keygen|encrypt`, the same in both programs: make the key of
 * `enc:v1:` values, and turn a secret (a webhook URL, an SMTP password)
 * into one to paste into the config. The secret is read from stdin, never
 * from the command line (which other users of the machine can see). The
 * program passes its I/O in.
 *
 * @module
 */
import type { Command } from "commander";
import { encryptSecret, generateKey, KEY_ENV, KEY_FILE_ENV, SecretError } from "./secrets.ts";

/** What the commands read and write, given by the program. */
export interface SecretCommandsIo {
  /** The key from the environment, or null (see `resolveSecretKey`). */
  loadKey(): Promise<Uint8Array | null>;
  /** One line of stdin. */
  readLine(): Promise<string>;
  /** Whether stdin is a terminal (a person typing). */
  isTerminal(): boolean;
  /** Creates `path` readable only by its user; fails when it exists. */
  writeKeyFile(path: string, text: string): Promise<void>;
}

/** Adds `secret keygen` and `secret encrypt` to `cli`. */
export function secretCommands(cli: Command, io: SecretCommandsIo): void {
  const group = cli.command("secret").description(
    `encrypted config values (enc:v1:...), under the key in ${KEY_ENV} or ${KEY_FILE_ENV}`,
  );
  group.command("keygen")
    .description("print a new key, or write it to a file only you can read (--out)")
    .option("--out <file>", "write the key to this new file (mode 0600) instead")
    .action(async (options: { out?: string }) => {
      const key = generateKey();
      if (options.out === undefined) return console.log(key);
      await io.writeKeyFile(options.out, `${key}\n`);
      console.error(`Wrote a new key to ${options.out}; point ${KEY_FILE_ENV} at it`);
    });
  group.command("encrypt")
    .description("read a secret from stdin (one line) and print it as an enc:v1: value")
    .action(async () => {
      const key = await io.loadKey();
      if (key === null) {
        throw new SecretError(`No key: set ${KEY_ENV} or ${KEY_FILE_ENV} (see "secret keygen")`);
      }
      if (io.isTerminal()) console.error("Secret (one line, then Enter):");
      const plain = await io.readLine();
      if (plain === "") throw new SecretError("Nothing to encrypt: stdin was empty");
      console.log(encryptSecret(plain, key));
    });
}

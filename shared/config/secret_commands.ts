/**
 * `secret keygen|encrypt`, the same in both programs: make the key of
 * `enc:v1:` values, and turn a secret (a webhook URL, an SMTP password)
 * into one to paste into the config. The secret is read from stdin, never
 * from the command line (which other users of the machine can see). The
 * program passes its OS in: `Deno` itself.
 *
 * @module
 */
import type { Command } from "commander";
import { type ConfigFiles, loadSecretKey } from "./config_file.ts";
import { readLine } from "../read_line.ts";
import { encryptSecret, generateKey, KEY_ENV, KEY_FILE_ENV, SecretError } from "./secrets.ts";

/** What the commands need of the OS (the key's variables and file, stdin, a new file): `Deno`. */
export interface SecretCommandsOs extends ConfigFiles {
  env: { toObject(): Record<string, string> };
  stdin: { readable: ReadableStream<Uint8Array>; isTerminal(): boolean };
  writeTextFile(
    path: string,
    text: string,
    options: { mode: number; createNew: boolean },
  ): Promise<void>;
}

/** Adds `secret keygen` and `secret encrypt` to `cli`. */
export function secretCommands(cli: Command, os: SecretCommandsOs): void {
  const group = cli.command("secret").description(
    `encrypted config values (enc:v1:...), under the key in ${KEY_ENV} or ${KEY_FILE_ENV}`,
  );
  group.command("keygen")
    .description("print a new key, or write it to a file only you can read (--out)")
    .option("--out <file>", "write the key to this new file (mode 0600) instead")
    .action(async (options: { out?: string }) => {
      const key = generateKey();
      if (options.out === undefined) return console.log(key);
      // Readable only by its user; an existing file is refused.
      await os.writeTextFile(options.out, `${key}\n`, { mode: 0o600, createNew: true });
      console.error(`Wrote a new key to ${options.out}; point ${KEY_FILE_ENV} at it`);
    });
  group.command("encrypt")
    .description("read a secret from stdin (one line) and print it as an enc:v1: value")
    .action(async () => {
      const key = await loadSecretKey(os, os.env.toObject());
      if (key === null) {
        throw new SecretError(`No key: set ${KEY_ENV} or ${KEY_FILE_ENV} (see "secret keygen")`);
      }
      if (os.stdin.isTerminal()) console.error("Secret (one line, then Enter):");
      const plain = await readLine(os.stdin.readable);
      if (plain === "") throw new SecretError("Nothing to encrypt: stdin was empty");
      console.log(encryptSecret(plain, key));
    });
}

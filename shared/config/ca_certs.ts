/**
 * The PEM files named by email webhooks' `ca_file`, read once at start for
 * their TLS connections. The program passes its file reading in (`Deno`).
 *
 * @module
 */

/**
 * webhook name → PEM certificates, for every resolved webhook with a `caFile`.
 *
 * @throws {Error} naming the webhook and file when one cannot be read.
 */
export async function readCaCerts(
  webhooks: Readonly<Record<string, object>>,
  files: { readTextFile(path: string): Promise<string> },
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, webhook] of Object.entries(webhooks)) {
    const file = "caFile" in webhook ? webhook.caFile : undefined;
    if (typeof file !== "string") continue;
    try {
      out[name] = [await files.readTextFile(file)];
    } catch (error) {
      throw new Error(
        `Cannot read webhooks.${name}.ca_file "${file}": ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return out;
}

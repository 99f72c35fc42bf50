/** The PEM files named by email webhooks' `ca_file`, read once for their TLS connections. */
import type { ResolvedAgentConfig } from "./types.ts";

/** webhook name → PEM certificates, for every webhook with a `caFile`. */
export async function readCaCerts(config: ResolvedAgentConfig): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, webhook] of Object.entries(config.webhooks)) {
    const file = "caFile" in webhook ? webhook.caFile : undefined;
    if (typeof file !== "string") continue;
    try {
      out[name] = [await Deno.readTextFile(file)];
    } catch (error) {
      throw new Error(
        `Cannot read webhooks.${name}.ca_file "${file}": ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  return out;
}

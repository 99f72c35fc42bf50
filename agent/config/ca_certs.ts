/** The PEM files named by email webhooks' `ca_file`, read once for their TLS connections. */
import { readCaCerts as readWebhookCaCerts } from "../../shared/config/ca_certs.ts";
import type { ResolvedAgentConfig } from "../../shared/agent_config/types.ts";

/** webhook name → PEM certificates, for every webhook with a `caFile`. */
export function readCaCerts(config: ResolvedAgentConfig): Promise<Record<string, string[]>> {
  return readWebhookCaCerts(config.webhooks, Deno);
}

/** `validate --ping`: a test message to every webhook, straight through its channel. */
import { createChannel } from "../../shared/notify/channels/mod.ts";
import type { ResolvedAgentConfig } from "../../shared/agent_config/types.ts";
import { readCaCerts } from "../config/ca_certs.ts";

/** What one webhook answered. */
export interface PingResult {
  name: string;
  kind: string;
  ok: boolean;
  answer: string;
}

/** Sends one test message to each webhook of `config`, all at once. */
export async function pingWebhooks(config: ResolvedAgentConfig): Promise<PingResult[]> {
  const caCerts = await readCaCerts(config);
  return await Promise.all(
    Object.entries(config.webhooks).map(async ([name, webhook]) => {
      const channel = createChannel(name, webhook, {
        fetch,
        connect: Deno.connect,
        startTls: Deno.startTls,
        caCerts: caCerts[name],
      });
      const text =
        `scriptmon test message from ${config.agent.host} (${config.agent.site}) to "${name}"`;
      const result = await channel.send({ type: "test", text }, {});
      return {
        name,
        kind: webhook.kind,
        ok: result.ok,
        answer: result.ok
          ? `${result.status ?? ""} ${result.answer ?? ""}`.trim() || "accepted"
          : `${result.error}${result.answer ? `: ${result.answer}` : ""}`.slice(0, 300),
      };
    }),
  );
}

/** The config with webhook secrets and the collector token replaced, for `validate --json`. */
export function redactConfig(config: ResolvedAgentConfig): unknown {
  const secretKeys = /url|secret|password|token|auth|key/i;
  const webhooks = Object.fromEntries(
    Object.entries(config.webhooks).map(([name, w]) => [
      name,
      Object.fromEntries(
        Object.entries(w).map((
          [k, v],
        ) => [k, secretKeys.test(k) && typeof v === "string" ? "<redacted>" : v]),
      ),
    ]),
  );
  if (config.collector === undefined) return { ...config, webhooks };
  return { ...config, webhooks, collector: { ...config.collector, token: "<redacted>" } };
}

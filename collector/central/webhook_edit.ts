/**
 * Webhooks in central config documents: listed for the config page (their
 * URLs shown only as far as the host), changed by rewriting the lines of one
 * `[webhooks.<name>]` table (comments and the rest of the document stay as
 * written), and tried with a test message from the collector, as
 * `validate --ping` does on a workstation.
 *
 * @module
 */

import { parseToml } from "../../shared/config/parse_toml.ts";
import { isEncrypted } from "../../shared/config/secrets.ts";
import { unsealText } from "../../shared/config/seal_text.ts";
import { createChannel } from "../../shared/notify/channels/mod.ts";
import { resolveWebhook, webhookSchema } from "../../shared/notify/webhook_schema.ts";
import { describeIssue } from "../../shared/config/zod_issue.ts";

type Table = Record<string, unknown>;

/** A webhook as the config page lists it: never its URL in full. */
export interface WebhookSummary {
  scope: string;
  name: string;
  kind: string;
  /** `https://hooks.slack.com/…`: the scheme and host only; `${VAR}` when it names a variable. */
  shownUrl: string;
}

/** A change a document cannot take as asked. */
export class WebhookEditError extends Error {
  override name = "WebhookEditError";
}

const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The URL as far as the host; a bare `${VAR}` as written (the agent's variable). */
export function shownUrl(url: string): string {
  if (/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(url)) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return "(hidden: not a URL this collector can read)";
  }
}

/** The webhooks of one document (`text` unsealed). */
export function webhooksOf(scope: string, text: string): WebhookSummary[] {
  const tree = parseToml(text, scope);
  const webhooks = isTable(tree.webhooks) ? tree.webhooks : {};
  return Object.entries(webhooks).filter(([, w]) => isTable(w)).map(([name, w]) => {
    const webhook = w as Table;
    return {
      scope,
      name,
      kind: typeof webhook.kind === "string" ? webhook.kind : "?",
      shownUrl: typeof webhook.url === "string" ? shownUrl(webhook.url) : "(none)",
    };
  });
}

/** The header line of `[webhooks.<name>]` (quoted or not), or -1. */
function headerLine(lines: readonly string[], name: string): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const header = new RegExp(
    `^\\s*\\[\\s*webhooks\\s*\\.\\s*("${escaped}"|'${escaped}'|${escaped})\\s*\\]\\s*(#.*)?$`,
  );
  return lines.findIndex((line) => header.test(line));
}

/**
 * `text` with webhook `name`'s `url` (and `kind`, when given) set: the lines
 * of its `[webhooks.<name>]` table rewritten, or a new table at the end.
 *
 * @throws {WebhookEditError} when the webhook is written in another form (inline or dotted
 *   keys), or a new one has no kind.
 */
export function setWebhook(
  text: string,
  name: string,
  fields: { url: string; kind?: string },
): string {
  const tree = parseToml(text, "document");
  const exists = isTable(tree.webhooks) && Object.hasOwn(tree.webhooks, name);
  const lines = text.replace(/\n$/, "").split("\n");
  const header = headerLine(lines, name);
  const url = `url = ${JSON.stringify(fields.url)}`;
  if (header < 0) {
    if (exists) {
      throw new WebhookEditError(
        `Webhook "${name}" is not written as a [webhooks.${name}] table in this document: ` +
          "edit the document's text",
      );
    }
    if (fields.kind === undefined) {
      throw new WebhookEditError(`New webhook "${name}": say its kind (slack, teams, ...)`);
    }
    const tail = text === "" || text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n";
    return `${text}${tail}[webhooks.${name}]\nkind = ${JSON.stringify(fields.kind)}\n${url}\n`;
  }
  let end = lines.findIndex((line, i) => i > header && /^\s*\[/.test(line));
  if (end < 0) end = lines.length;
  const set = (key: string, line: string) => {
    const at = lines.findIndex((l, i) =>
      i > header && i < end && new RegExp(`^\\s*${key}\\s*=`).test(l)
    );
    if (at >= 0) {
      if (/"""|'''/.test(lines[at])) {
        throw new WebhookEditError(
          `Webhook "${name}": its ${key} spans lines; edit the document's text`,
        );
      }
      lines[at] = line;
    } else {
      lines.splice(header + 1, 0, line);
      end++;
    }
  };
  set("url", url);
  if (fields.kind !== undefined) set("kind", `kind = ${JSON.stringify(fields.kind)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Sends a test message to webhook `name` of a document (`text` sealed), as
 * `validate --ping` does; the provider's answer in words.
 *
 * @throws {WebhookEditError} when the document has no such webhook, it does not validate, or
 *   it names a variable only the agents know.
 */
export async function pingWebhook(
  text: string,
  name: string,
  options: { key: Uint8Array; scope: string; by: string; fetch?: typeof fetch },
): Promise<{ ok: boolean; answer: string }> {
  const tree = parseToml(unsealText(text, options.key), options.scope);
  const raw = isTable(tree.webhooks) ? tree.webhooks[name] : undefined;
  if (raw === undefined) {
    throw new WebhookEditError(`No webhook "${name}" in the ${options.scope} document`);
  }
  const values = Object.values(isTable(raw) ? raw : {});
  if (values.some((v) => typeof v === "string" && (v.includes("${") || isEncrypted(v)))) {
    throw new WebhookEditError(
      `Webhook "${name}" uses a variable or a value only the agents can read: ` +
        "test it with `scriptmon-agent validate --ping` on a workstation",
    );
  }
  const parsed = webhookSchema.safeParse(raw);
  if (!parsed.success) {
    const [first] = describeIssue(parsed.error.issues[0], {});
    throw new WebhookEditError(`webhooks.${name}.${first.path}: ${first.message}`);
  }
  const channel = createChannel(name, resolveWebhook(name, parsed.data), {
    fetch: options.fetch ?? fetch,
    connect: Deno.connect,
    startTls: Deno.startTls,
  });
  const result = await channel.send({
    type: "test",
    text: `scriptmon test message from the collector (${options.by}) to "${name}" ` +
      `of the ${options.scope} config`,
  }, {});
  return {
    ok: result.ok,
    answer: result.ok
      ? `${result.status ?? ""} ${result.answer ?? ""}`.trim() || "accepted"
      : `${result.error}${result.answer ? `: ${result.answer}` : ""}`.slice(0, 300),
  };
}

/**
 * `scriptmon-collector audit verify|list`: check the audit trail's hash
 * chain, and read it (a table for people, `--json`, `--csv`). Also
 * {@linkcode recordCli}, which the other commands use to put what they did
 * (tokens, users, backups, restores) on the trail.
 *
 * @module
 */
import type { KvHandle } from "../../shared/kv/handle.ts";
import type { Command } from "commander";
import { formatTable } from "../../shared/table.ts";
import { type AuditInput, AuditLog } from "../audit/trail.ts";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import { toCsv } from "../http/csv.ts";
import { withKv } from "../store/open.ts";
import { AUDIT_CSV_COLUMNS } from "../api/audit_routes.ts";

/** Who runs the CLI: `cli:<login name>`. */
export function cliActor(): string {
  let user: string | undefined;
  try {
    user = Deno.env.get("USER") ?? Deno.env.get("USERNAME");
  } catch {
    // No env access: unknown.
  }
  return `cli:${user ?? "unknown"}`;
}

/** Appends what a CLI command did to the trail in `kv`. */
export async function recordCli(
  kv: KvHandle,
  input: Omit<AuditInput, "actor" | "address">,
): Promise<void> {
  await new AuditLog(kv).append({ ...input, actor: cliActor(), address: null });
}

/** A problem the trail's check found: exit 1, like any failure. */
export class AuditBrokenError extends Error {
  override name = "AuditBrokenError";
}

/** Adds `audit verify` and `audit list` to `cli`. */
export function auditCommands(cli: Command, load: () => Promise<ResolvedCollectorConfig>): void {
  const withAudit = async <T>(fn: (audit: AuditLog) => Promise<T>): Promise<T> => {
    return await withKv(await load(), (kv) => fn(new AuditLog(kv)));
  };
  const group = cli.command("audit").description("the audit trail: who did what, when, from where");
  group.command("verify")
    .description(
      "check every entry's hash and link; exit 1 and name the entry when one was changed or removed",
    )
    .option("--json", "print the verdict as JSON")
    .action(async (options: { json?: boolean }) => {
      const verdict = await withAudit((audit) => audit.verify());
      if (options.json) console.log(JSON.stringify(verdict));
      if (!verdict.ok) {
        throw new AuditBrokenError(
          `The audit trail is broken at entry ${verdict.seq}: ${verdict.problem}`,
        );
      }
      if (!options.json) {
        console.log(
          verdict.entries === 0
            ? "The audit trail is empty."
            : `The audit trail is intact: ${verdict.entries} entries, ${verdict.first} to ${verdict.last}.`,
        );
      }
    });
  group.command("list")
    .description("the newest entries")
    .option("-n, --limit <n>", "at most this many", "50")
    .option("--action <prefix>", "only actions starting with this")
    .option("--json", "print JSON")
    .option("--csv", "print CSV")
    .action(async (options: { limit: string; action?: string; json?: boolean; csv?: boolean }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new RangeError(`--limit: expected a whole number >= 1, got "${options.limit}"`);
      }
      const entries = await withAudit((audit) =>
        audit.list({ limit, ...(options.action === undefined ? {} : { action: options.action }) })
      );
      if (options.json) return console.log(JSON.stringify({ entries }));
      if (options.csv) {
        const csv = toCsv(AUDIT_CSV_COLUMNS, entries as unknown as Record<string, unknown>[]);
        await Deno.stdout.write(new TextEncoder().encode(csv));
        return;
      }
      console.log(formatTable(
        ["SEQ", "AT", "ACTOR", "FROM", "ACTION", "TARGET", "RESULT"],
        entries.map((e) => [e.seq, e.at, e.actor, e.address, e.action, e.target, e.result]),
      ));
    });
}

/**
 * `scriptmon-collector erase site|agent|user ... --yes`: purge everything
 * the collector keeps about a site, an agent or a user (see `erasure.ts`).
 * Without `--yes` it only counts what would go and exits 2, saying so.
 * Each erasure is recorded on the audit trail (`erase.site`, `erase.agent`,
 * `erase.user`) with the counts; the trail itself is kept.
 *
 * @module
 */
import type { KvHandle } from "../../shared/kv/handle.ts";
import type { Command } from "commander";
import { recordCli } from "./audit.ts";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import {
  describeCounts,
  eraseAgent,
  eraseSite,
  eraseUser,
  type ErasureCounts,
  totalErased,
} from "../fleet/erasure.ts";
import { withKv } from "../store/open.ts";
import { Store } from "../store/store.ts";

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

function checkName(what: string, value: string): string {
  if (!NAME.test(value)) {
    throw new RangeError(
      `Invalid ${what} ${JSON.stringify(value)}: expected 1-100 letters, digits, "_", "." or "-"`,
    );
  }
  return value;
}

/** What an erase command acts on. */
interface Target {
  action: "erase.site" | "erase.agent" | "erase.user";
  /** As people and the trail name it: `BFI4`, `BFI4/ws-07`, `alice`. */
  target: string;
  erase: (kv: KvHandle, options: { dryRun: boolean }) => Promise<ErasureCounts>;
}

async function run(
  config: ResolvedCollectorConfig,
  what: Target,
  options: { yes?: boolean },
): Promise<void> {
  await withKv(config, async (kv) => {
    if (!options.yes) {
      const counts = await what.erase(kv, { dryRun: true });
      console.log(
        `Would erase ${totalErased(counts)} entries of ${what.target}: ${describeCounts(counts)}`,
      );
      throw new RangeError(
        `Nothing was erased: add --yes to erase ${what.target} (this cannot be undone)`,
      );
    }
    let counts: ErasureCounts;
    try {
      counts = await what.erase(kv, { dryRun: false });
    } catch (error) {
      await recordCli(kv, { action: what.action, target: what.target, result: "failed" });
      throw error;
    }
    await recordCli(kv, {
      action: what.action,
      target: what.target,
      result: "ok",
      detail: { total: totalErased(counts), entries: describeCounts(counts) },
    });
    console.log(
      `Erased ${totalErased(counts)} entries of ${what.target}: ${describeCounts(counts)}`,
    );
  });
}

/** Adds `erase site|agent|user` to `cli`. */
export function eraseCommands(cli: Command, load: () => Promise<ResolvedCollectorConfig>): void {
  const group = cli.command("erase").description(
    "purge everything kept about a site, an agent or a user (a compliance request); on the audit trail",
  );
  group.command("site <site>")
    .description(
      "erase a site: its agents, events, history, commands, alerts, leases, agent tokens",
    )
    .option("--yes", "really erase (without it: show what would be erased)")
    .action(async (site: string, options: { yes?: boolean }) => {
      checkName("site", site);
      await run(await load(), {
        action: "erase.site",
        target: site,
        erase: (kv, o) => eraseSite(new Store(kv), site, o),
      }, options);
    });
  group.command("agent <site> <host>")
    .description("erase one agent: its events, history, commands, alerts, leases, agent token")
    .option("--yes", "really erase (without it: show what would be erased)")
    .action(async (site: string, host: string, options: { yes?: boolean }) => {
      checkName("site", site);
      checkName("host", host);
      await run(await load(), {
        action: "erase.agent",
        target: `${site}/${host}`,
        erase: (kv, o) => eraseAgent(new Store(kv), site, host, o),
      }, options);
    });
  group.command("user <name>")
    .description("erase a user and end their sessions")
    .option("--yes", "really erase (without it: show what would be erased)")
    .action(async (name: string, options: { yes?: boolean }) => {
      checkName("user name", name);
      await run(await load(), {
        action: "erase.user",
        target: name,
        erase: (kv, o) => eraseUser(kv, name, o),
      }, options);
    });
}

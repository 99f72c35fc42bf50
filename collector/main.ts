/**
 * scriptmon-collector: the command line. Parses arguments, loads the
 * config and hands over to the library; the only place that prints for
 * people or exits.
 */
import { Command, CommanderError, Option } from "commander";
import { redact } from "../shared/redact.ts";
import { SecretError } from "../shared/config/secrets.ts";
import { formatTable } from "../shared/table.ts";
import { BackupFormatError, backupKv, restoreKv, RestoreTargetError } from "./store/backup.ts";
import { auditCommands, recordCli } from "./cli/audit.ts";
import { eraseCommands } from "./cli/erase.ts";
import { exportCommands } from "./cli/export.ts";
import { secretCommands } from "./cli/secret.ts";
import { userSessionCommands } from "./cli/sessions.ts";
import { apiTokenCommands, wallTokenCommands } from "./cli/tokens.ts";
import { userCommands } from "./cli/users.ts";
import {
  ConfigError,
  loadConfig,
  parseConfig,
  type ResolvedCollectorConfig,
} from "./config/load.ts";
import { openStore, withKv } from "./store/open.ts";
import { migrate, pool, redactUrl } from "./store/postgres/mod.ts";
import { setupLogging } from "./logging.ts";
import { serve } from "./serve.ts";
import { Store } from "./store/store.ts";
import { StoreConflictError, type TokenKind } from "./store/types.ts";
import { VERSION } from "./version.ts";

/** Exit codes: 2 for a bad config or bad usage, 1 for everything else that failed. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The config file when `--config` is not given. */
export const DEFAULT_CONFIG = "collector.toml";

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function checkName(what: string, value: string): string {
  if (!NAME.test(value)) {
    throw new RangeError(
      `Invalid ${what} ${JSON.stringify(value)}: expected 1-100 letters, digits, "_", "." or "-"`,
    );
  }
  return value;
}

/** Whether `dir` is missing or holds nothing. */
async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}

async function withStore<T>(
  config: ResolvedCollectorConfig,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  return await withKv(config, (kv) => fn(new Store(kv)));
}

function tokenCommands(
  cli: Command,
  kind: TokenKind,
  load: () => Promise<ResolvedCollectorConfig>,
) {
  const group = cli.command(`${kind}-token`).description(
    kind === "agent" ? "tokens agents report with (one per agent)" : "tokens for the REST API",
  );
  const create = group.command(kind === "agent" ? "create <site> <name>" : "create <name>")
    .description("create a token and print it (shown only once; only its hash is kept)")
    .option(
      "--environment <env>",
      "the environment its agent belongs to (dev, staging, prod, ...; default none)",
    );
  create.action(async (...args: unknown[]) => {
    const [site, name] = kind === "agent"
      ? [checkName("site", String(args[0])), checkName("name", String(args[1]))]
      : [undefined, checkName("name", String(args[0]))];
    const options = args[kind === "agent" ? 2 : 1] as { environment?: string };
    const environment = options.environment === undefined
      ? undefined
      : checkName("environment", options.environment);
    const config = await load();
    const { token } = await withStore(config, async (store) => {
      const created = await store.createToken({
        kind,
        name,
        ...(site === undefined ? {} : { site }),
        ...(environment === undefined ? {} : { environment }),
        now: Date.now(),
      });
      await recordCli(store.kv, {
        action: "token.create",
        target: `${kind}/${name}`,
        result: "ok",
        detail: { site: site ?? null, environment: environment ?? null },
      });
      return created;
    });
    console.error(
      `Created ${kind} token "${name}"${site === undefined ? "" : ` for site ${site}`}${
        environment === undefined ? "" : ` in environment ${environment}`
      }. It is shown once; store it now:`,
    );
    console.log(token);
  });
  group.command("list").description("list tokens (names and use, never the tokens)")
    .action(async () => {
      const tokens = await withStore(await load(), (store) => store.listTokens(kind));
      const headers = kind === "agent"
        ? ["NAME", "SITE", "HOST", "ENVIRONMENT", "CREATED", "LAST USED", "STATE"]
        : ["NAME", "CREATED", "LAST USED", "STATE"];
      console.log(formatTable(
        headers,
        tokens.map((t) => [
          t.name,
          ...(kind === "agent" ? [t.site, t.host, t.environment ?? null] : []),
          t.createdAt,
          t.lastUsedAt,
          t.revoked ? `revoked ${t.revokedAt}` : "active",
        ]),
      ));
    });
  group.command("revoke <name>").description("revoke a token; it stops working at once")
    .action(async (name: string) => {
      const revoked = await withStore(await load(), async (store) => {
        const record = await store.revokeToken(kind, name, Date.now());
        if (record !== null) {
          await recordCli(store.kv, {
            action: "token.revoke",
            target: `${kind}/${name}`,
            result: "ok",
          });
        }
        return record;
      });
      if (revoked === null) throw new RangeError(`No active ${kind} token named "${name}"`);
      console.log(`Revoked ${kind} token "${name}"`);
    });
}

function program(): Command {
  const cli = new Command("scriptmon-collector")
    .description("The fleet server: agents report to it; it serves the fleet's state and commands.")
    .version(VERSION, "--version")
    .addOption(
      new Option("-c, --config <file>", "config file (TOML)").default(DEFAULT_CONFIG).env(
        "SCRIPTMON_COLLECTOR_CONFIG",
      ),
    )
    .showHelpAfterError()
    .exitOverride();
  const load = async () => {
    const file = cli.opts<{ config: string }>().config;
    // Without --config and without ./collector.toml, every default applies.
    if (cli.getOptionValueSource("config") === "default" && !(await exists(file))) {
      return parseConfig("", { path: file });
    }
    return await loadConfig(file);
  };

  cli.command("serve").description("serve the API until SIGINT or SIGTERM")
    .action(async () => {
      const config = await load();
      const closeLogs = await setupLogging({ level: config.logLevel });
      const opened = await openStore(config.store, config.dataDir);
      const controller = new AbortController();
      const signals: Deno.Signal[] = Deno.build.os === "windows"
        ? ["SIGINT", "SIGBREAK"]
        : ["SIGINT", "SIGTERM"];
      const stop = () => controller.abort();
      for (const signal of signals) Deno.addSignalListener(signal, stop);
      try {
        await serve({ config, kv: opened.kv, signal: controller.signal, watchConfig: true });
      } finally {
        for (const signal of signals) Deno.removeSignalListener(signal, stop);
        await opened.close();
        await closeLogs();
      }
    });
  cli.command("backup <file>")
    .description("write a full, consistent dump of the store to <file> (JSON lines)")
    .action(async (file: string) => {
      await withKv(await load(), async (kv) => {
        // On the trail first, so that the dump holds its own entry.
        await recordCli(kv, { action: "backup", target: file, result: "ok" });
        const { count } = await backupKv(kv, file).catch(async (error) => {
          await recordCli(kv, { action: "backup", target: file, result: "failed" });
          throw error;
        });
        console.log(`Backed up ${count} entries to ${file}`);
      });
    });
  cli.command("restore <file>")
    .description("restore a dump made by backup into an empty store (data_dir, or the database)")
    .action(async (file: string) => {
      const config = await load();
      if (config.store.kind === "kv" && !(await isEmptyDir(config.dataDir))) {
        throw new RestoreTargetError(
          `Cannot restore into data_dir "${config.dataDir}": it is not empty; point data_dir at a new folder (or move the old one away) and run restore again`,
        );
      }
      const opened = await openStore(config.store, config.dataDir);
      try {
        const { count } = await restoreKv(opened.kv, file);
        await recordCli(opened.kv, {
          action: "restore",
          target: file,
          result: "ok",
          detail: { count },
        });
        console.log(`Restored ${count} entries from ${file} into ${opened.description}`);
      } finally {
        await opened.close();
      }
    });
  cli.command("migrate")
    .description("bring the PostgreSQL store's schema up to date (serve does it on start)")
    .option("--dry-run", "print the migrations that would run, run none")
    .action(async (options: { dryRun?: boolean }) => {
      const config = await load();
      if (config.store.kind !== "postgres") {
        throw new RangeError(
          'Nothing to migrate: the store is the KV file (set [collector] store = "postgres://...")',
        );
      }
      const sql = pool(config.store.url, { max: 1 });
      try {
        const { from, applied } = await migrate(sql, { dryRun: options.dryRun ?? false });
        const where = redactUrl(config.store.url);
        if (applied.length === 0) {
          console.log(`${where}: the schema is up to date (version ${from})`);
        } else if (options.dryRun) {
          console.log(`${where}: at version ${from}; would apply:`);
          for (const migration of applied) console.log(`\n-- ${migration.name}\n${migration.sql}`);
        } else {
          console.log(
            `${where}: applied ${applied.map((m) => m.name).join(", ")} ` +
              `(version ${from} → ${applied.at(-1)!.version})`,
          );
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
  tokenCommands(cli, "agent", load);
  apiTokenCommands(cli, load);
  wallTokenCommands(cli, load);
  userCommands(cli, load);
  userSessionCommands(cli, load);
  auditCommands(cli, load);
  eraseCommands(cli, load);
  exportCommands(cli, load);
  secretCommands(cli);
  cli.command("version").description("print the version").action(() => {
    console.log(`scriptmon-collector ${VERSION}`);
  });
  return cli;
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    await program().parseAsync(args, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    // A message may quote a config value: never a secret.
    console.error(redact(`scriptmon-collector: ${error instanceof Error ? error.message : error}`));
    return error instanceof ConfigError || error instanceof RangeError ||
        error instanceof StoreConflictError || error instanceof RestoreTargetError ||
        error instanceof BackupFormatError || error instanceof SecretError
      ? EXIT.usage
      : EXIT.failed;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

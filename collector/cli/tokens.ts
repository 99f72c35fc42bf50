/**
 * `scriptmon-collector api-token create|list|revoke`: tokens for the REST
 * API, each with a role (default `viewer`: read only) and the sites it may
 * see (default every site). Shown once; only the hash is kept; listed with
 * role, sites and last use; each change on the audit trail.
 *
 * @module
 */
import { type Command, Option } from "commander";
import { formatTable } from "../../shared/table.ts";
import { recordCli } from "./audit.ts";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import { withKv } from "../store/open.ts";
import { Store } from "../store/store.ts";
import type { TokenRecord } from "../store/types.ts";
import { type Role, ROLES } from "../auth/roles.ts";
import { USER_NAME } from "../auth/users.ts";

async function withStore<T>(
  config: ResolvedCollectorConfig,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  return await withKv(config, (kv) => fn(new Store(kv)));
}

function checkName(what: string, value: string): string {
  if (!USER_NAME.test(value)) {
    throw new RangeError(
      `Invalid ${what} ${JSON.stringify(value)}: expected 1-100 letters, digits, "_", "." or "-"`,
    );
  }
  return value;
}

/** A comma-separated list given to `--<flag>`, checked (null when not given: every one). */
function parseList(
  text: string | undefined,
  options: { flag: string; what: string; example: string },
): string[] | null {
  if (text === undefined) return null;
  const names = [...new Set(text.split(",").map((s) => s.trim()).filter((s) => s !== ""))];
  if (names.length === 0) {
    throw new RangeError(
      `Invalid --${options.flag} ${
        JSON.stringify(text)
      }: expected ${options.flag} like "${options.example}" (leave it out for every one)`,
    );
  }
  return names.map((name) => checkName(options.what, name));
}

/** `--sites A,B` as a list (null when not given: every site). */
export function parseSites(text: string | undefined): string[] | null {
  return parseList(text, { flag: "sites", what: "site", example: "BFI4,SEA8" });
}

/** `--environments A,B` as a list (null when not given: every environment). */
export function parseEnvironments(text: string | undefined): string[] | null {
  return parseList(text, { flag: "environments", what: "environment", example: "staging,dev" });
}

/** What a scope reads as in messages: `sites A, B in environments staging`. */
export function describeScope(sites: string[] | null, environments: string[] | null): string {
  const where = sites === null ? "all sites" : `sites ${sites.join(", ")}`;
  return environments === null ? where : `${where} in environments ${environments.join(", ")}`;
}

/** A token as `api-token list --json` shows it (never the hash). */
export function publicToken(t: TokenRecord) {
  return {
    name: t.name,
    // Records made before roles are admins of every site.
    role: t.role ?? "admin",
    sites: t.sites ?? null,
    environments: t.environments ?? null,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    revoked: t.revoked,
    revokedAt: t.revokedAt,
  };
}

/** Adds the `api-token` command group to `cli`. */
export function apiTokenCommands(cli: Command, load: () => Promise<ResolvedCollectorConfig>): void {
  const group = cli.command("api-token").description("tokens for the REST API");
  group.command("create <name>")
    .description("create a token and print it (shown only once; only its hash is kept)")
    .addOption(
      new Option(
        "--role <role>",
        "viewer: read; operator: also control scripts, ack and silence; admin: all",
      ).choices(ROLES).default("viewer"),
    )
    .option("--sites <sites>", "comma-separated sites the token may see (default: all)")
    .option(
      "--environments <envs>",
      "comma-separated environments whose sites the token may see (default: all)",
    )
    .action(
      async (raw: string, options: { role: Role; sites?: string; environments?: string }) => {
        const name = checkName("name", raw);
        const sites = parseSites(options.sites);
        const environments = parseEnvironments(options.environments);
        const config = await load();
        const { token } = await withStore(config, async (store) => {
          const created = await store.createToken({
            kind: "api",
            name,
            role: options.role,
            sites,
            environments,
            now: Date.now(),
          });
          await recordCli(store.kv, {
            action: "token.create",
            target: `api/${name}`,
            result: "ok",
            detail: {
              role: options.role,
              sites: sites === null ? "all" : sites.join(","),
              environments: environments === null ? "all" : environments.join(","),
            },
          });
          return created;
        });
        console.error(
          `Created ${options.role} API token "${name}" for ${
            describeScope(sites, environments)
          }. It is shown once; store it now:`,
        );
        console.log(token);
      },
    );
  listAndRevoke(group, "api", load);
}

/** Adds the `wall-token` command group to `cli`: read-only tokens for a wall screen (`/wall`). */
export function wallTokenCommands(
  cli: Command,
  load: () => Promise<ResolvedCollectorConfig>,
): void {
  const group = cli.command("wall-token").description(
    "read-only tokens for a wall screen: open /wall?key=<token> on it once",
  );
  group.command("create <name>")
    .description("create a wall token and print it (shown only once; only its hash is kept)")
    .option("--sites <sites>", "comma-separated sites the wall shows (default: all)")
    .option("--environments <envs>", "comma-separated environments the wall shows (default: all)")
    .action(async (raw: string, options: { sites?: string; environments?: string }) => {
      const name = checkName("name", raw);
      const sites = parseSites(options.sites);
      const environments = parseEnvironments(options.environments);
      const { token } = await withStore(await load(), async (store) => {
        const created = await store.createToken({
          kind: "wall",
          name,
          sites,
          environments,
          now: Date.now(),
        });
        await recordCli(store.kv, {
          action: "token.create",
          target: `wall/${name}`,
          result: "ok",
          detail: { sites: sites === null ? "all" : sites.join(",") },
        });
        return created;
      });
      console.error(
        `Created wall token "${name}" for ${
          describeScope(sites, environments)
        }. It is shown once; open /wall?key=<token> on the screen:`,
      );
      console.log(token);
    });
  listAndRevoke(group, "wall", load);
}

/** `list` and `revoke` of a token group (`api-token`, `wall-token`). */
function listAndRevoke(
  group: Command,
  kind: "api" | "wall",
  load: () => Promise<ResolvedCollectorConfig>,
): void {
  group.command("list").description("list tokens (names, roles, sites and use, never the tokens)")
    .option("--json", "as JSON")
    .action(async (options: { json?: boolean }) => {
      const tokens = (await withStore(await load(), (store) => store.listTokens(kind)))
        .map(publicToken);
      if (options.json) {
        console.log(JSON.stringify({ tokens }, null, 2));
        return;
      }
      console.log(formatTable(
        ["NAME", "ROLE", "SITES", "ENVIRONMENTS", "CREATED", "LAST USED", "STATE"],
        tokens.map((t) => [
          t.name,
          t.role,
          t.sites === null ? "all" : t.sites.join(","),
          t.environments === null ? "all" : t.environments.join(","),
          t.createdAt,
          t.lastUsedAt,
          t.revoked ? `revoked ${t.revokedAt}` : "active",
        ]),
      ));
    });
  group.command("revoke <name>").description("revoke a token; it stops working within a second")
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

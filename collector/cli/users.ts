/**
 * `scriptmon-collector user add|list|remove`: the people who sign in to the
 * pages. Passwords come from one line of stdin (`--password-stdin`) or an
 * interactive prompt that does not echo; they are never printed or logged.
 *
 * @module
 */
import type { KvHandle } from "../../shared/kv/handle.ts";
import { type Command, Option } from "commander";
import { readLine } from "../../shared/read_line.ts";
import { formatTable } from "../../shared/table.ts";
import { recordCli } from "./audit.ts";
import { withKv } from "../store/open.ts";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import { type Role, ROLES } from "../auth/roles.ts";
import { Users } from "../auth/users.ts";
import { describeScope, parseEnvironments } from "./tokens.ts";

async function withUsers<T>(
  config: ResolvedCollectorConfig,
  fn: (users: Users, kv: KvHandle) => Promise<T>,
): Promise<T> {
  return await withKv(config, (kv) => fn(new Users(kv), kv));
}

/** Asks for a password twice on the terminal without echoing it. */
async function promptPassword(): Promise<string> {
  if (!Deno.stdin.isTerminal()) {
    throw new RangeError("No terminal to ask for the password: pass --password-stdin");
  }
  const ask = async (question: string) => {
    await Deno.stderr.write(new TextEncoder().encode(question));
    Deno.stdin.setRaw(true);
    try {
      const bytes: number[] = [];
      const buffer = new Uint8Array(1);
      for (let i = 0; i < 4096; i++) {
        const n = await Deno.stdin.read(buffer);
        if (n === null || buffer[0] === 13 || buffer[0] === 10) break;
        if (buffer[0] === 3) throw new RangeError("Cancelled");
        if (buffer[0] === 127 || buffer[0] === 8) bytes.pop();
        else bytes.push(buffer[0]);
      }
      return new TextDecoder().decode(new Uint8Array(bytes));
    } finally {
      Deno.stdin.setRaw(false);
      await Deno.stderr.write(new TextEncoder().encode("\n"));
    }
  };
  const first = await ask("Password: ");
  if (first !== await ask("Repeat the password: ")) {
    throw new RangeError("The two passwords differ");
  }
  return first;
}

/** Adds the `user` command group to `cli`. */
export function userCommands(cli: Command, load: () => Promise<ResolvedCollectorConfig>): void {
  const group = cli.command("user").description("people who sign in to the web pages");
  group.command("add <name>")
    .description("add a user (the password from --password-stdin or a prompt)")
    .addOption(
      new Option("--role <role>", "viewer: read; operator: also control and alerts; admin: all")
        .choices(ROLES).makeOptionMandatory(),
    )
    .option("--sites <sites>", "comma-separated sites the user may see (default: all)")
    .option(
      "--environments <envs>",
      "comma-separated environments whose sites the user may see (default: all)",
    )
    .option("--password-stdin", "read the password from the first line of stdin")
    .action(
      async (
        name: string,
        options: { role: Role; sites?: string; environments?: string; passwordStdin?: boolean },
      ) => {
        const sites = options.sites === undefined
          ? null
          : options.sites.split(",").map((s) => s.trim()).filter((s) => s !== "");
        const environments = parseEnvironments(options.environments);
        const config = await load();
        const password = options.passwordStdin
          ? await readLine(Deno.stdin.readable)
          : await promptPassword();
        const user = await withUsers(config, async (users, kv) => {
          const added = await users.add({
            name,
            role: options.role,
            sites,
            environments,
            password,
            now: Date.now(),
          });
          await recordCli(kv, {
            action: "user.add",
            target: name,
            result: "ok",
            detail: {
              role: added.role,
              sites: added.sites === null ? "all" : added.sites.join(","),
              environments: environments === null ? "all" : environments.join(","),
            },
          });
          return added;
        });
        console.log(
          `Added ${user.role} "${user.name}" for ${describeScope(user.sites, environments)}`,
        );
      },
    );
  group.command("list").description("list users (never their passwords)")
    .option("--json", "as JSON")
    .action(async (options: { json?: boolean }) => {
      const list = await withUsers(await load(), (users) => users.list());
      if (options.json) {
        console.log(JSON.stringify({ users: list }, null, 2));
        return;
      }
      console.log(formatTable(
        ["NAME", "ROLE", "SITES", "ENVIRONMENTS", "CREATED"],
        list.map((u) => [
          u.name,
          u.role,
          u.sites === null ? "all" : u.sites.join(","),
          u.environments ? u.environments.join(",") : "all",
          u.createdAt,
        ]),
      ));
    });
  group.command("remove <name>").description("remove a user and end their sessions")
    .action(async (name: string) => {
      const removed = await withUsers(await load(), async (users, kv) => {
        const ended = await users.remove(name);
        if (ended !== null) {
          await recordCli(kv, {
            action: "user.remove",
            target: name,
            result: "ok",
            detail: { ended },
          });
        }
        return ended;
      });
      if (removed === null) throw new RangeError(`No user named "${name}"`);
      console.log(`Removed user "${name}" (${removed} session(s) ended)`);
    });
}

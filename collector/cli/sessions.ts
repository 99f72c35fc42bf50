/**
 * `scriptmon-collector user sessions <name>` (list a user's live sessions:
 * when started, last seen, when they expire; never the cookie) and
 * `user revoke-sessions <name>` (sign them out everywhere at once; on the
 * audit trail).
 *
 * @module
 */
import type { KvHandle } from "../../shared/kv/handle.ts";
import type { Command } from "commander";
import { formatTable } from "../../shared/table.ts";
import { recordCli } from "./audit.ts";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import { withKv } from "../store/open.ts";
import { listUserSessions, revokeUserSessions } from "../auth/sessions.ts";
import { Users } from "../auth/users.ts";

async function checkUser(kv: KvHandle, name: string): Promise<void> {
  if (await new Users(kv).get(name) === null) throw new RangeError(`No user named "${name}"`);
}

/** Adds `sessions` and `revoke-sessions` to the `user` group of `cli` (made by `userCommands`). */
export function userSessionCommands(
  cli: Command,
  load: () => Promise<ResolvedCollectorConfig>,
): void {
  const group = cli.commands.find((c) => c.name() === "user") ??
    cli.command("user").description("people who sign in to the web pages");
  group.command("sessions <name>")
    .description("list a user's live sessions (never the cookies)")
    .option("--json", "as JSON")
    .action(async (name: string, options: { json?: boolean }) => {
      const sessions = await withKv(await load(), async (kv) => {
        await checkUser(kv, name);
        return await listUserSessions(kv, name);
      });
      if (options.json) {
        console.log(JSON.stringify({ sessions }, null, 2));
        return;
      }
      console.log(formatTable(
        ["ID", "STARTED", "LAST SEEN", "EXPIRES"],
        sessions.map((s) => [s.id, s.createdAt, s.lastSeenAt, s.expiresAt]),
      ));
    });
  group.command("revoke-sessions <name>")
    .description("end every session of a user now (they must sign in again)")
    .action(async (name: string) => {
      const ended = await withKv(await load(), async (kv) => {
        await checkUser(kv, name);
        const count = await revokeUserSessions(kv, name);
        await recordCli(kv, {
          action: "user.revoke-sessions",
          target: name,
          result: "ok",
          // Not "sessions": the trail drops detail keys that could name a secret.
          detail: { ended: count },
        });
        return count;
      });
      console.log(`Ended ${ended} session(s) of user "${name}"`);
    });
}

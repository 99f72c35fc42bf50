/** `scriptmon-collector audit`: what the CLI did is on the trail, and `verify` finds tampering. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AuditEntry } from "../collector/audit/mod.ts";
import { openCollectorKv } from "../collector/store/mod.ts";
import { collectorCli } from "./_cli.ts";

const cli = (config: string, args: string[], stdin?: string) =>
  collectorCli(config, args, stdin === undefined ? {} : { stdin });

Deno.test("tokens, users and backups made with the CLI are audited; verify finds a changed entry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-audit-" });
  try {
    const config = join(dir, "collector.toml");
    await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
    const steps: [string[], string?][] = [
      [["agent-token", "create", "BFI4", "ws-01"]],
      [["api-token", "create", "ops"]],
      [["api-token", "revoke", "ops"]],
      [["user", "add", "ada", "--role", "admin", "--password-stdin"], "a long passphrase\n"],
      [["user", "remove", "ada"]],
      [["backup", join(dir, "dump.jsonl")]],
    ];
    for (const [args, stdin] of steps) {
      const result = await cli(config, args, stdin);
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    }
    const listed = await cli(config, ["audit", "list", "--json"]);
    const { entries } = JSON.parse(listed.stdout) as { entries: AuditEntry[] };
    assert.deepEqual(entries.map((e) => `${e.action} ${e.target}`).reverse(), [
      "token.create agent/ws-01",
      "token.create api/ops",
      "token.revoke api/ops",
      "user.add ada",
      "user.remove ada",
      `backup ${join(dir, "dump.jsonl")}`,
    ]);
    assert.ok(entries.every((e) => e.actor.startsWith("cli:") && e.result === "ok"));
    assert.ok(!listed.stdout.includes("long passphrase"), "no password on the trail");

    const intact = await cli(config, ["audit", "verify"]);
    assert.deepEqual([intact.code, intact.stdout], [
      0,
      "The audit trail is intact: 6 entries, 1 to 6.",
    ]);

    // Someone edits entry 4 in the store file behind the collector's back.
    const kv = await openCollectorKv(join(dir, "data"));
    const fourth = (await kv.get<AuditEntry>(["audit", 4])).value!;
    await kv.set(["audit", 4], { ...fourth, target: "nobody" });
    kv.close();
    const broken = await cli(config, ["audit", "verify"]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /broken at entry 4: entry 4 was changed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

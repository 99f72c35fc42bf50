/**
 * `scriptmon-collector user add|list|remove` as a person runs it: the
 * password on stdin, a table or JSON, removal ending the user's sessions.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openCollectorKv } from "../collector/store/mod.ts";
import { Sessions } from "../collector/auth/mod.ts";
import { Users } from "../collector/auth/mod.ts";
import { tempDir } from "./_helpers.ts";
import { collectorCli } from "./_cli.ts";

const cli = (config: string, args: string[], stdin = "") =>
  collectorCli(config, args, { stdin, trim: false });

Deno.test("user add reads the password from stdin; list shows role and sites but never the hash", async () => {
  await using dir = await tempDir();
  const config = join(dir.path, "collector.toml");
  await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
  const added = await cli(config, [
    "user",
    "add",
    "alice",
    "--role",
    "operator",
    "--sites",
    "BFI4,SEA8",
    "--password-stdin",
  ], "correct horse\nignored line\n");
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout.trim(), 'Added operator "alice" for sites BFI4, SEA8');
  const table = await cli(config, ["user", "list"]);
  assert.match(
    table.stdout,
    /^NAME +ROLE +SITES +ENVIRONMENTS +CREATED\nalice +operator +BFI4,SEA8 +all +20\d\d-/,
  );
  const json = JSON.parse((await cli(config, ["user", "list", "--json"])).stdout);
  assert.deepEqual(Object.keys(json.users[0]).sort(), ["createdAt", "name", "role", "sites"]);

  const kv = await openCollectorKv(join(dir.path, "data"));
  try {
    const users = new Users(kv);
    assert.equal((await users.verify("alice", "correct horse"))?.role, "operator");
    assert.equal(await users.verify("alice", "ignored line"), null);
  } finally {
    kv.close();
  }

  const twice = await cli(
    config,
    ["user", "add", "alice", "--role", "viewer", "--password-stdin"],
    "x\n",
  );
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /A user named "alice" already exists/);
  const noRole = await cli(config, ["user", "add", "bob", "--password-stdin"], "x\n");
  assert.equal(noRole.code, 2);
  assert.match(noRole.stderr, /required option '--role <role>'/);
  const badRole = await cli(
    config,
    ["user", "add", "bob", "--role", "root", "--password-stdin"],
    "x\n",
  );
  assert.equal(badRole.code, 2);
  const empty = await cli(
    config,
    ["user", "add", "bob", "--role", "viewer", "--password-stdin"],
    "\n",
  );
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /The password may not be empty/);
});

Deno.test("user remove drops the user and every session they had", async () => {
  await using dir = await tempDir();
  const config = join(dir.path, "collector.toml");
  await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
  const added = await cli(
    config,
    ["user", "add", "carol", "--role", "admin", "--password-stdin"],
    "pw\n",
  );
  assert.equal(added.code, 0, added.stderr);
  let ids: string[];
  {
    const kv = await openCollectorKv(join(dir.path, "data"));
    const sessions = new Sessions(kv);
    ids = [
      (await sessions.create("carol", Date.now())).id,
      (await sessions.create("carol", Date.now())).id,
    ];
    kv.close();
  }
  const removed = await cli(config, ["user", "remove", "carol"]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout.trim(), 'Removed user "carol" (2 session(s) ended)');
  const kv = await openCollectorKv(join(dir.path, "data"));
  try {
    const sessions = new Sessions(kv);
    for (const id of ids) assert.equal(await sessions.get(id, Date.now()), null);
    assert.equal(await new Users(kv).get("carol"), null);
  } finally {
    kv.close();
  }
  const again = await cli(config, ["user", "remove", "carol"]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /No user named "carol"/);
});

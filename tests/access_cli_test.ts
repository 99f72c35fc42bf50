/**
 * `scriptmon-collector api-token create|list` with roles and sites, and
 * `user sessions|revoke-sessions`, as a person runs them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AuditEntry } from "../collector/audit/mod.ts";
import { openCollectorKv } from "../collector/store/mod.ts";
import { Sessions } from "../collector/auth/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { Users } from "../collector/auth/mod.ts";
import { tempDir } from "./_helpers.ts";
import { collectorCli } from "./_cli.ts";

const cli = (config: string, args: string[]) => collectorCli(config, args);

async function setup(dir: string): Promise<string> {
  const config = join(dir, "collector.toml");
  await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
  return config;
}

Deno.test("api-token create takes a role and sites (default viewer of every site); list shows them with last use", async () => {
  await using dir = await tempDir();
  const config = await setup(dir.path);
  const ops = await cli(config, [
    "api-token",
    "create",
    "ops",
    "--role",
    "operator",
    "--sites",
    "BFI4, SEA8",
  ]);
  assert.equal(ops.code, 0, ops.stderr);
  assert.match(ops.stdout, /^smapi_[A-Za-z0-9_-]{43}$/);
  assert.match(ops.stderr, /Created operator API token "ops" for sites BFI4, SEA8/);
  const dash = await cli(config, ["api-token", "create", "dash"]);
  assert.match(dash.stderr, /Created viewer API token "dash" for all sites/);
  // An old record (before roles) is an admin of every site.
  const kv = await openCollectorKv(join(dir.path, "data"));
  try {
    const store = new Store(kv);
    const { record } = await store.createToken({ kind: "api", name: "old", now: Date.now() });
    const { role: _role, sites: _sites, ...old } = record;
    await kv.set(["token", "api", record.hash], old);
    assert.ok(await store.authenticate("api", ops.stdout, Date.now()), "the token works");
    await store.flushTokenUses(); // as a collector does every few seconds
  } finally {
    kv.close();
  }
  const table = await cli(config, ["api-token", "list"]);
  assert.equal(table.code, 0, table.stderr);
  const [header, ...rows] = table.stdout.split("\n");
  assert.match(header, /^NAME\s+ROLE\s+SITES\s+ENVIRONMENTS\s+CREATED\s+LAST USED\s+STATE$/);
  assert.match(
    rows.find((r) => r.startsWith("ops "))!,
    /^ops\s+operator\s+BFI4,SEA8\s+all\s+\S+\s+20\S+\s+active$/,
  );
  assert.match(
    rows.find((r) => r.startsWith("dash "))!,
    /^dash\s+viewer\s+all\s+all\s+\S+\s+-\s+active$/,
  );
  assert.match(rows.find((r) => r.startsWith("old "))!, /^old\s+admin\s+all\s/);
  assert.ok(!table.stdout.includes(ops.stdout), "the token is never listed");
  const json = JSON.parse((await cli(config, ["api-token", "list", "--json"])).stdout);
  const byName = Object.fromEntries(
    json.tokens.map((t: { name: string }) => [t.name, t]),
  );
  assert.deepEqual(
    [byName.ops.role, byName.ops.sites, byName.dash.role, byName.dash.sites, byName.old.role],
    ["operator", ["BFI4", "SEA8"], "viewer", null, "admin"],
  );
  assert.equal(typeof byName.ops.lastUsedAt, "string");
  assert.ok(!("hash" in byName.ops), "no hash in the listing");
});

Deno.test("tokens and users take environments; an agent token names the one its agent is of", async () => {
  await using dir = await tempDir();
  const config = await setup(dir.path);
  const api = await cli(config, ["api-token", "create", "stg", "--environments", "staging,dev"]);
  assert.equal(api.code, 0, api.stderr);
  assert.match(api.stderr, /for all sites in environments staging, dev\./);
  const agent = await cli(config, [
    "agent-token",
    "create",
    "STG1",
    "ws-01",
    "--environment",
    "staging",
  ]);
  assert.equal(agent.code, 0, agent.stderr);
  assert.match(agent.stderr, /Created agent token "ws-01" for site STG1 in environment staging/);
  const agents = await cli(config, ["agent-token", "list"]);
  assert.match(agents.stdout.split("\n")[1], /^ws-01\s+STG1\s+-\s+staging\s/);
  const user = await collectorCli(config, [
    "user",
    "add",
    "dana",
    "--role",
    "admin",
    "--environments",
    "dev",
    "--password-stdin",
  ], { stdin: "pw-dana-long\n" });
  assert.equal(user.code, 0, user.stderr);
  assert.equal(user.stdout, 'Added admin "dana" for all sites in environments dev');
  const bad = await cli(config, ["api-token", "create", "x", "--environments", "a b"]);
  assert.deepEqual([bad.code, bad.stderr], [
    2,
    'scriptmon-collector: Invalid environment "a b": expected 1-100 letters, digits, "_", "." or "-"',
  ]);
});

Deno.test("api-token create refuses an unknown role and bad sites with exit 2", async () => {
  await using dir = await tempDir();
  const config = await setup(dir.path);
  const role = await cli(config, ["api-token", "create", "x", "--role", "root"]);
  assert.equal(role.code, 2);
  assert.match(role.stderr, /option '--role <role>' argument 'root' is invalid/);
  const sites = await cli(config, ["api-token", "create", "x", "--sites", "BFI 4"]);
  assert.deepEqual([sites.code, sites.stderr], [
    2,
    'scriptmon-collector: Invalid site "BFI 4": expected 1-100 letters, digits, "_", "." or "-"',
  ]);
  const none = await cli(config, ["api-token", "create", "x", "--sites", ","]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Invalid --sites ",": expected sites like "BFI4,SEA8"/);
});

Deno.test("user sessions lists a user's sessions (never the cookie); revoke-sessions ends them, on the trail", async () => {
  await using dir = await tempDir();
  const config = await setup(dir.path);
  const kv = await openCollectorKv(join(dir.path, "data"));
  const cookies: string[] = [];
  try {
    await new Users(kv).add({
      name: "ann",
      role: "viewer",
      sites: null,
      password: "pw",
      now: Date.now(),
    });
    const sessions = new Sessions(kv);
    for (let i = 0; i < 2; i++) cookies.push((await sessions.create("ann", Date.now())).id);
  } finally {
    kv.close();
  }
  const listed = await cli(config, ["user", "sessions", "ann"]);
  assert.equal(listed.code, 0, listed.stderr);
  const [header, ...rows] = listed.stdout.split("\n");
  assert.match(header, /^ID\s+STARTED\s+LAST SEEN\s+EXPIRES$/);
  assert.equal(rows.length, 2);
  assert.ok(cookies.every((c) => !listed.stdout.includes(c)), "no cookie listed");
  const json = JSON.parse((await cli(config, ["user", "sessions", "ann", "--json"])).stdout);
  assert.equal(json.sessions.length, 2);
  const revoked = await cli(config, ["user", "revoke-sessions", "ann"]);
  assert.deepEqual([revoked.code, revoked.stdout], [0, 'Ended 2 session(s) of user "ann"']);
  const after = JSON.parse((await cli(config, ["user", "sessions", "ann", "--json"])).stdout);
  assert.deepEqual(after.sessions, []);
  const check = await openCollectorKv(join(dir.path, "data"));
  try {
    const sessions = new Sessions(check);
    for (const cookie of cookies) assert.equal(await sessions.get(cookie, Date.now()), null);
  } finally {
    check.close();
  }
  const audit = JSON.parse((await cli(config, ["audit", "list", "--json"])).stdout);
  const entry = (audit.entries as AuditEntry[]).find((e) => e.action === "user.revoke-sessions");
  assert.deepEqual([entry?.target, entry?.result, entry?.detail], ["ann", "ok", { ended: 2 }]);
  const unknown = await cli(config, ["user", "revoke-sessions", "bob"]);
  assert.deepEqual([unknown.code, unknown.stderr], [2, 'scriptmon-collector: No user named "bob"']);
});

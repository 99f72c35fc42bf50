/** `scriptmon-collector erase`: a site or a user is purged on request, and the trail says so. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AuditEntry } from "../collector/audit/mod.ts";
import { openCollectorKv } from "../collector/store/mod.ts";
import { Sessions } from "../collector/auth/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { events, ingestRequest } from "../collector/_testing.ts";
import { collectorCli } from "./_cli.ts";

const cli = (config: string, args: string[], stdin?: string) =>
  collectorCli(config, args, stdin === undefined ? {} : { stdin });

/** Opens the collector's KV in `dataDir` for `fn`, then closes it. */
async function withKv<T>(dataDir: string, fn: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await openCollectorKv(dataDir);
  try {
    return await fn(kv);
  } finally {
    kv.close();
  }
}

/** Every entry but the audit trail's, as text. */
async function dump(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  for await (const { key, value } of kv.list({ prefix: [] })) {
    // The audit trail and the token revocation counter say nothing about a site.
    if (String(key[0]).startsWith("audit") || key[0] === "token_generation") continue;
    out.push(JSON.stringify([key, value]));
  }
  return out;
}

Deno.test("erase site asks for --yes, then purges the site; erase user ends their sessions; both are audited", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-erase-" });
  try {
    const config = join(dir, "collector.toml");
    const dataDir = join(dir, "data");
    await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
    for (const [site, host] of [["GONE1", "ws-a"], ["KEEP2", "ws-b"]]) {
      const made = await cli(config, ["agent-token", "create", site, host]);
      assert.equal(made.code, 0, made.stderr);
    }
    const added = await cli(config, [
      "user",
      "add",
      "alice",
      "--role",
      "operator",
      "--password-stdin",
    ], "a long passphrase\n");
    assert.equal(added.code, 0, added.stderr);
    const sessionId = await withKv(dataDir, async (kv) => {
      const store = new Store(kv);
      for (const [site, host] of [["GONE1", "ws-a"], ["KEEP2", "ws-b"]]) {
        await store.ingest(ingestRequest({ site, host, events: events([1, 2, 3]) }), {
          now: Date.now(),
          tokenName: host,
        });
        await store.commands.queue({
          site,
          host,
          action: "restart",
          script: "rates",
          requestedBy: "api-token:ops",
          ttlMs: 60_000,
          now: Date.now(),
        });
      }
      return (await new Sessions(kv).create("alice", Date.now())).id;
    });

    const asked = await cli(config, ["erase", "site", "GONE1"]);
    assert.equal(asked.code, 2, asked.stderr);
    assert.match(asked.stdout, /^Would erase \d+ entries of GONE1: agent=1 .*event=3/);
    assert.match(asked.stderr, /Nothing was erased: add --yes to erase GONE1/);
    assert.notEqual(await withKv(dataDir, (kv) => new Store(kv).getAgent("GONE1", "ws-a")), null);

    const erased = await cli(config, ["erase", "site", "GONE1", "--yes"]);
    assert.equal(erased.code, 0, erased.stderr);
    assert.match(erased.stdout, /^Erased \d+ entries of GONE1: /);
    const left = await withKv(dataDir, dump);
    assert.deepEqual(left.filter((e) => e.includes("GONE1")), []);
    assert.ok(left.some((e) => e.includes('["agent","KEEP2","ws-b"]')));
    assert.ok(left.some((e) => e.includes('["event","KEEP2","ws-b",3]')));

    const user = await cli(config, ["erase", "user", "alice", "--yes"]);
    assert.equal(user.code, 0, user.stderr);
    assert.equal(user.stdout, "Erased 3 entries of alice: user=1 session=1 session_user=1");
    assert.equal(
      await withKv(dataDir, (kv) => new Sessions(kv).get(sessionId, Date.now())),
      null,
    );

    const listed = await cli(config, ["audit", "list", "--action", "erase", "--json"]);
    const { entries } = JSON.parse(listed.stdout) as { entries: AuditEntry[] };
    assert.deepEqual(
      entries.map((e) => `${e.action} ${e.target} ${e.result}`).reverse(),
      ["erase.site GONE1 ok", "erase.user alice ok"],
    );
    assert.equal(entries[0].detail.total, 3);
    assert.ok(entries.every((e) => e.actor.startsWith("cli:")));
    const verified = await cli(config, ["audit", "verify"]);
    assert.equal(verified.code, 0, verified.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("erase agent refuses a malformed host with exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-erase-" });
  try {
    const config = join(dir, "collector.toml");
    await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
    const result = await cli(config, ["erase", "agent", "BFI4", "../x", "--yes"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Invalid host "\.\.\/x"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Backup and restore end to end: a store filled through the app (tokens,
 * agents, scripts, events, commands and acks, outbox messages), dumped by
 * `scriptmon-collector backup`, restored by `restore` into a new data
 * folder, and compared entry by entry.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../collector/mod.ts";
import { parseConfig } from "../collector/config/mod.ts";
import { kvPath } from "../collector/store/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { events, ingestRequest, script } from "../collector/_testing.ts";
import { Outbox } from "../shared/notify/mod.ts";
import type { Channel } from "../shared/notify/mod.ts";
import { collectorCli } from "./_cli.ts";
import { postgresSkipped } from "./_stores.ts";
import { startTestPostgres } from "./_postgres.ts";

const cli = (config: string, ...args: string[]) => collectorCli(config, args);

async function entries(dataDir: string): Promise<Deno.KvEntry<unknown>[]> {
  const kv = await Deno.openKv(kvPath(dataDir));
  try {
    return await Array.fromAsync(kv.list({ prefix: [] }));
  } finally {
    kv.close();
  }
}

/** Fills the store in `dataDir` the way a working collector does. */
async function fill(dataDir: string): Promise<void> {
  await Deno.mkdir(dataDir, { recursive: true });
  const kv = await Deno.openKv(kvPath(dataDir));
  try {
    const store = new Store(kv);
    const app = createApp({ store, config: parseConfig("", { path: "/tmp/c.toml", vars: {} }) });
    const now = Date.now();
    // One agent token per workstation (a token speaks for its first host only).
    const tokens: Record<string, string> = {};
    for (const host of ["ws-01", "ws-02"]) {
      tokens[host] = (await store.createToken({ kind: "agent", name: host, site: "BFI4", now }))
        .token;
    }
    const api = (await store.createToken({ kind: "api", name: "ops", role: "admin", now })).token;
    await store.createToken({ kind: "api", name: "old", now });
    await store.revokeToken("api", "old", now);
    const post = (path: string, token: string, body?: unknown) =>
      app.request(path, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    for (const host of ["ws-01", "ws-02"]) {
      const scripts = [script("rates"), script("token_monitor", { state: "backoff" })];
      const response = await post(
        "/api/v1/ingest",
        tokens[host],
        ingestRequest({ host, scripts, events: events([1, 2, 3, 5]) }),
      );
      assert.equal(response.status, 200);
    }
    const queued = await post("/api/v1/agents/BFI4/ws-01/scripts/rates/restart", api);
    assert.equal(queued.status, 202);
    await post("/api/v1/agents/BFI4/ws-02/scripts/rates/stop", api);
    const { id } = await queued.json();
    const acked = ingestRequest({
      host: "ws-01",
      events: events([4]),
      acks: [{ id, ok: true, message: "restarted", at: new Date().toISOString() }],
    });
    assert.equal((await post("/api/v1/ingest", tokens["ws-01"], acked)).status, 200);
    const channel: Channel = {
      name: "ops",
      kind: "json",
      send: () => Promise.resolve({ ok: true }),
    };
    const outbox = new Outbox(kv, { channels: new Map([["ops", channel]]) });
    await outbox.enqueue({
      channel: "ops",
      dedupeKey: "agent-offline|BFI4|ws-03|1",
      payload: { type: "test", text: "hello" },
    });
  } finally {
    kv.close();
  }
}

Deno.test("backup then restore into a new data_dir gives every key and value back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-backup-" });
  try {
    const config = join(dir, "collector.toml");
    const restored = join(dir, "restored.toml");
    await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
    await Deno.writeTextFile(restored, `[collector]\ndata_dir = "data2"\n`);
    await fill(join(dir, "data"));
    const file = join(dir, "dump.jsonl");

    const backup = await cli(config, "backup", file);
    assert.equal(backup.code, 0, backup.stderr);
    const before = await entries(join(dir, "data"));
    assert.equal(backup.stdout, `Backed up ${before.length} entries to ${file}`);
    const kinds = new Set(before.map((e) => String(e.key[0])));
    for (
      const kind of [
        "token",
        "token_name",
        "agent",
        "scripts",
        "event",
        "event_time",
        "command",
        "outbox",
      ]
    ) {
      assert.ok(kinds.has(kind), `the store holds ${kind} entries`);
    }
    assert.ok(before.some((e) => e.value instanceof Deno.KvU64), "outbox counters are KvU64");
    assert.ok(before.some((e) => e.value instanceof Uint8Array), "outbox payloads are bytes");

    const restore = await cli(restored, "restore", file);
    assert.equal(restore.code, 0, restore.stderr);
    const after = await entries(join(dir, "data2"));
    // The restore went on the restored store's audit trail, after the backup's own entry.
    const isRestore = (e: Deno.KvEntry<unknown>) =>
      e.key[0] === "audit" && (e.value as { action?: string }).action === "restore";
    assert.equal(after.filter(isRestore).length, 1);
    const same = (e: Deno.KvEntry<unknown>) => !isRestore(e) && e.key[0] !== "audit_head";
    assert.deepEqual(
      after.filter(same).map((e) => [e.key, e.value]),
      before.filter(same).map((e) => [e.key, e.value]),
    );
    assert.ok(before.some((e) => e.key[0] === "audit"), "the dump holds the backup's audit entry");

    const again = await cli(restored, "restore", file);
    assert.equal(again.code, 2);
    assert.equal(
      again.stderr,
      `scriptmon-collector: Cannot restore into data_dir "${
        join(dir, "data2")
      }": it is not empty; point data_dir at a new folder (or move the old one away) and run restore again`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "KV to PostgreSQL and back (backup, restore, backup, restore): every key and value kept",
  ignore: postgresSkipped !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "collector-migrate-" });
    const server = await startTestPostgres();
    try {
      const url = await server.database();
      const kvConfig = join(dir, "kv.toml");
      const pgConfig = join(dir, "pg.toml");
      const backConfig = join(dir, "back.toml");
      await Deno.writeTextFile(kvConfig, `[collector]\ndata_dir = "data"\n`);
      await Deno.writeTextFile(pgConfig, `[collector]\nstore = "\${PG_URL}"\n`);
      await Deno.writeTextFile(backConfig, `[collector]\ndata_dir = "back"\n`);
      await fill(join(dir, "data"));
      const env = { PG_URL: url };
      const run = async (config: string, ...args: string[]) => {
        const result = await collectorCli(config, args, { env });
        assert.equal(result.code, 0, result.stderr);
        return result.stdout;
      };
      await run(kvConfig, "backup", join(dir, "from-kv.jsonl"));
      const into = await run(pgConfig, "restore", join(dir, "from-kv.jsonl"));
      assert.match(
        into,
        /^Restored \d+ entries from .* into postgres:\/\/scriptmon@127\.0\.0\.1:\d+\/t_/,
      );
      // The PostgreSQL store serves what was restored: the tokens are there.
      assert.match(await run(pgConfig, "agent-token", "list"), /ws-01 +BFI4 +ws-01/);
      await run(pgConfig, "backup", join(dir, "from-pg.jsonl"));
      await run(backConfig, "restore", join(dir, "from-pg.jsonl"));
      const audit = (e: Deno.KvEntry<unknown>) => e.key[0] === "audit" || e.key[0] === "audit_head";
      const before = (await entries(join(dir, "data"))).filter((e) => !audit(e));
      const after = (await entries(join(dir, "back"))).filter((e) => !audit(e));
      assert.ok(before.length > 20);
      assert.deepEqual(after.map((e) => [e.key, e.value]), before.map((e) => [e.key, e.value]));
      // Restoring into a database that is not empty is refused.
      const again = await collectorCli(pgConfig, ["restore", join(dir, "from-kv.jsonl")], { env });
      assert.equal(again.code, 2);
      assert.match(again.stderr, /Cannot restore into a store that is not empty/);
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

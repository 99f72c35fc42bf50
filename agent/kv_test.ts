import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../tests/_helpers.ts";
import { openAgentStore, STORE_FILE } from "./kv.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("an older agent's Deno KV file is moved into the store once, every record kept", async () => {
  await using dir = await tempDir("scriptmon-agent-store-");
  const old = await Deno.openKv(join(dir.path, "agent.kv"));
  for (let i = 0; i < 450; i++) await old.set(["event", i], { seq: i, kind: "started" });
  await old.set(["outbox", "count", "sent"], new Deno.KvU64(12n));
  await old.set(["notify", "silence", "s1"], { until: "2026-12-31T00:00:00Z" }, {
    expireIn: 60_000,
  });
  old.close();
  // A copy cut short by an earlier start is not taken for the store.
  await Deno.writeTextFile(join(dir.path, `${STORE_FILE}.partial`), "half a file");

  const kv = await openAgentStore(dir.path);
  try {
    let events = 0;
    for await (const _ of kv.list({ prefix: ["event"] })) events++;
    assert.equal(events, 450);
    assert.deepEqual((await kv.get(["event", 449])).value, { seq: 449, kind: "started" });
    assert.deepEqual((await kv.get(["outbox", "count", "sent"])).value, new Deno.KvU64(12n));
    assert.deepEqual((await kv.get(["notify", "silence", "s1"])).value, {
      until: "2026-12-31T00:00:00Z",
    });
    await kv.set(["event", 450], { seq: 450, kind: "stopped" });
  } finally {
    kv.close();
  }
  assert.equal(await exists(join(dir.path, "agent.kv")), false, "the old file is removed");
  assert.equal(await exists(join(dir.path, `${STORE_FILE}.partial`)), false);

  // The next start opens the store as it is.
  const again = await openAgentStore(dir.path);
  try {
    assert.deepEqual((await again.get(["event", 450])).value, { seq: 450, kind: "stopped" });
  } finally {
    again.close();
  }
});

Deno.test("a store that cannot be opened is an error naming the file", async () => {
  await using dir = await tempDir("scriptmon-agent-store-");
  await Deno.mkdir(join(dir.path, STORE_FILE)); // a folder where the file should be
  await assert.rejects(
    () => openAgentStore(dir.path),
    (error: Error) =>
      error.message.startsWith(`Cannot open the agent's store ${join(dir.path, STORE_FILE)}: `),
  );
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { BackupFormatError, backupKv, restoreKv, RestoreTargetError } from "./backup.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "collector-backup-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function entries(kv: Deno.Kv): Promise<[Deno.KvKey, unknown][]> {
  const all: [Deno.KvKey, unknown][] = [];
  for await (const entry of kv.list({ prefix: [] })) all.push([entry.key, entry.value]);
  return all;
}

Deno.test("backupKv() then restoreKv() gives the same keys and values", async () => {
  await withDir(async (dir) => {
    const source = await Deno.openKv(join(dir, "a.kv"));
    const target = await Deno.openKv(join(dir, "b.kv"));
    try {
      for (let i = 0; i < 2500; i++) await source.set(["n", i], { i, pad: "x".repeat(i % 50) });
      await source.set([new Uint8Array([1, 2]), 5n, true, 1.5, "s"], new Uint8Array([9]));
      await source.set(["count"], new Deno.KvU64(7n));
      const file = join(dir, "dump.jsonl");
      assert.deepEqual(await backupKv(source, file, { now: Date.parse("2026-05-01T00:00:00Z") }), {
        count: 2502,
      });
      const header = JSON.parse((await Deno.readTextFile(file)).split("\n")[0]);
      assert.deepEqual(header, {
        format: "scriptmon-collector-backup",
        version: 1,
        createdAt: "2026-05-01T00:00:00.000Z",
        count: 2502,
      });
      assert.deepEqual(await restoreKv(target, file), { count: 2502 });
      assert.deepEqual(await entries(target), await entries(source));
    } finally {
      source.close();
      target.close();
    }
  });
});

Deno.test("restoreKv() refuses a store that is not empty", async () => {
  await withDir(async (dir) => {
    const kv = await Deno.openKv(join(dir, "a.kv"));
    try {
      await kv.set(["x"], 1);
      const file = join(dir, "dump.jsonl");
      await backupKv(kv, file);
      await assert.rejects(() => restoreKv(kv, file), {
        name: RestoreTargetError.name,
        message:
          'Cannot restore into a store that is not empty (it holds ["x"] and more); restore into an empty data_dir',
      });
    } finally {
      kv.close();
    }
  });
});

Deno.test("restoreKv() writes nothing from a cut dump", async () => {
  await withDir(async (dir) => {
    const source = await Deno.openKv(join(dir, "a.kv"));
    const target = await Deno.openKv(join(dir, "b.kv"));
    try {
      await source.set(["a"], 1);
      await source.set(["b"], 2);
      const file = join(dir, "dump.jsonl");
      await backupKv(source, file);
      const lines = (await Deno.readTextFile(file)).split("\n");
      await Deno.writeTextFile(file, lines.slice(0, 2).join("\n") + "\n");
      await assert.rejects(() => restoreKv(target, file), {
        name: BackupFormatError.name,
        message: `${file}: the header says 2 entries, the file holds 1: it is cut or corrupt`,
      });
      assert.deepEqual(await entries(target), []);
    } finally {
      source.close();
      target.close();
    }
  });
});

Deno.test("backupKv() gives up on a store that changes during every pass", async () => {
  await withDir(async (dir) => {
    const kv = await Deno.openKv(join(dir, "a.kv"));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await kv.set(["busy"], i);
    })();
    try {
      for (let i = 0; i < 3000; i++) await kv.set(["n", i], i);
      await assert.rejects(() => backupKv(kv, join(dir, "dump.jsonl"), { attempts: 2 }), {
        name: "Error",
        message:
          /^Cannot back up the collector's store: it kept changing \(\d+ keys changed during the last of 2 tries\); stop the collector and back up again$/,
      });
      await assert.rejects(() => Deno.stat(join(dir, "dump.jsonl")), Deno.errors.NotFound);
    } finally {
      writing = false;
      await writer;
      kv.close();
    }
  });
});

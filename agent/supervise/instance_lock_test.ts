import assert from "node:assert/strict";
import { join } from "node:path";
import { acquireInstanceLock, LockHeldError, readLockHolder } from "./instance_lock.ts";

const holdLock = new URL("../../tests/fixtures/hold_lock.ts", import.meta.url).pathname;

/** A child process holding the lock of `dataDir` until its stdin closes. */
async function startHolder(dataDir: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", holdLock, dataDir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  assert.equal(text, "locked\n");
  return child;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a second agent is refused with LockHeldError naming the holder", async () => {
  await withTempDir(async (dir) => {
    const holder = await startHolder(dir);
    try {
      const file = JSON.parse(await Deno.readTextFile(join(dir, "agent.holder.json")));
      const error = await acquireInstanceLock(dir, { mode: "once" }).then(
        () => assert.fail("acquired a held lock"),
        (error: unknown) => error,
      );
      assert.ok(error instanceof LockHeldError);
      assert.equal(error.name, "LockHeldError");
      assert.equal(
        error.message,
        `Another scriptmon agent is already running with data dir ${dir} ` +
          `(pid ${holder.pid}, started ${file.startedAt}, mode run)`,
      );
      assert.equal(error.holder?.pid, holder.pid);
      assert.match(file.startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const read = await readLockHolder(dir);
      assert.equal(read?.pid, holder.pid);
      assert.equal(read?.apiPort, 8791);
    } finally {
      await holder.stdin.close();
      assert.ok((await holder.status).success);
    }
    assert.equal(await readLockHolder(dir), null);
  });
});

Deno.test("after the holder is SIGKILLed the lock is free and its holder file ignored", async () => {
  await withTempDir(async (dir) => {
    const holder = await startHolder(dir);
    holder.kill("SIGKILL");
    await holder.status;
    await holder.stdin.close().catch(() => {});
    assert.ok((await Deno.stat(join(dir, "agent.holder.json"))).isFile, "stale holder file left");
    assert.equal(await readLockHolder(dir), null);
    const lock = await acquireInstanceLock(dir, { mode: "run" });
    try {
      assert.equal(lock.holder.pid, Deno.pid);
    } finally {
      await lock.release();
    }
  });
});

Deno.test("waitMs waits until the holder releases the lock", async () => {
  await withTempDir(async (dir) => {
    const holder = await startHolder(dir);
    let lock;
    try {
      const pending = acquireInstanceLock(dir, { mode: "run", waitMs: 10_000 });
      await holder.stdin.close();
      lock = await pending;
      assert.equal(lock.holder.mode, "run");
    } finally {
      await holder.stdin.close().catch(() => {});
      await holder.status;
      await lock?.release();
    }
  });
});

Deno.test("waitMs gives up with LockHeldError when the lock stays held", async () => {
  await withTempDir(async (dir) => {
    const first = await acquireInstanceLock(dir, { mode: "run" });
    try {
      const started = Date.now();
      await assert.rejects(
        () => acquireInstanceLock(dir, { mode: "once", waitMs: 100 }),
        LockHeldError,
      );
      assert.ok(Date.now() - started >= 100);
    } finally {
      await first.release();
    }
  });
});

Deno.test("updateInfo() rewrites the holder file and release() removes it", async () => {
  await withTempDir(async (dir) => {
    const data = join(dir, "data");
    const lock = await acquireInstanceLock(data, { mode: "run", info: { apiPort: 1 } });
    await lock.updateInfo({ apiPort: 8791, pid: 1 });
    const holder = await readLockHolder(data);
    assert.equal(holder?.apiPort, 8791);
    assert.equal(holder?.pid, Deno.pid);
    await lock.release();
    await lock.release();
    assert.equal(await readLockHolder(data), null);
    await assert.rejects(() => Deno.stat(join(data, "agent.holder.json")), Deno.errors.NotFound);
  });
});

import assert from "node:assert/strict";
import { FakeClock } from "../../shared/notify/_outbox_testing.ts";
import type { Handle, Win32Mutexes } from "../platform/_win32.ts";
import { DedupeKeys, MAX_KEYS, MutexDedupe, SocketDedupe } from "./machine_dedupe.ts";

Deno.test("DedupeKeys claims a key once per window, again after it, and stays bounded", () => {
  const clock = new FakeClock();
  const keys = new DedupeKeys(clock);
  assert.equal(keys.claim("a", 60_000), true);
  assert.equal(keys.claim("a", 60_000), false);
  clock.advance(59_999);
  assert.equal(keys.claim("a", 60_000), false);
  clock.advance(1);
  assert.equal(keys.claim("a", 60_000), true);
  for (let i = 0; i < MAX_KEYS + 10; i++) keys.claim(`k${i}`, 3600_000);
  assert.ok(keys.size <= MAX_KEYS, `${keys.size} keys kept`);
  // The newest are kept, the oldest went.
  assert.equal(keys.claim(`k${MAX_KEYS + 9}`, 3600_000), false);
  assert.equal(keys.claim("k0", 3600_000), true);
});

Deno.test({
  name: "SocketDedupe: the first agent keeps the keys, a second one asks it over the socket",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const prefix = `scriptmon-test/${Deno.pid}/${crypto.randomUUID().slice(0, 8)}/`;
    const keeper = new SocketDedupe({ prefix });
    const other = new SocketDedupe({ prefix });
    try {
      assert.equal(await keeper.claim("relay|dock|sha256|1", 60_000), true);
      assert.equal(keeper.keeper, true);
      assert.equal(await other.claim("relay|dock|sha256|1", 60_000), false);
      assert.equal(other.keeper, false);
      assert.equal(await other.claim("relay|dock|sha256|2", 60_000), true);
      assert.equal(await keeper.claim("relay|dock|sha256|2", 60_000), false);
      // The keeper leaves: the next to relay keeps the keys (from nothing).
      await keeper.close();
      assert.equal(await other.claim("relay|dock|sha256|3", 60_000), true);
      assert.equal(other.keeper, true);
    } finally {
      await keeper.close();
      await other.close();
    }
  },
});

class FakeMutexes implements Win32Mutexes {
  owned = new Set<string>();
  released: string[] = [];
  tryMutex(name: string) {
    if (this.owned.has(name)) return { state: "busy" as const };
    this.owned.add(name);
    return { state: "owned" as const, handle: { name } as unknown as Handle };
  }
  releaseMutex(handle: Handle) {
    const name = (handle as unknown as { name: string }).name;
    this.owned.delete(name);
    this.released.push(name);
  }
}

Deno.test("MutexDedupe owns a Global\\ mutex per post for its window, then releases it", async () => {
  const clock = new FakeClock();
  const win32 = new FakeMutexes();
  const a = new MutexDedupe(win32, { clock });
  const b = new MutexDedupe(win32, { clock });
  assert.equal(await a.claim("relay|dock|sha256|1", 60_000), true);
  assert.equal(await a.claim("relay|dock|sha256|1", 60_000), false);
  assert.equal(await b.claim("relay|dock|sha256|1", 60_000), false);
  const [name] = win32.owned;
  assert.match(name, /^Global\\scriptmon-dedupe-[0-9a-f]{64}$/);
  clock.advance(60_000);
  await Promise.resolve();
  assert.deepEqual(win32.released, [name]);
  assert.equal(await b.claim("relay|dock|sha256|1", 60_000), true);
  await a.close();
  await b.close();
});

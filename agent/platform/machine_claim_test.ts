import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Handle,
  MUTEX_ACCESS,
  MUTEX_SDDL,
  securityAttributes,
  type Win32Mutexes,
} from "./_win32.ts";
import {
  abstractAddress,
  CLAIM_SLOTS,
  claimName,
  isAgentCommand,
  LinuxMachineClaims,
  parsePasswd,
  WindowsMachineClaims,
} from "./machine_claim.ts";

const linux = Deno.build.os === "linux";
/** A prefix of this test run's own: real agents and other runs never see these names. */
const prefix = () => `scriptmon-test/${Deno.pid}/${crypto.randomUUID().slice(0, 8)}/`;

Deno.test("isAgentCommand() knows the binary, the zip's bundle and a checkout's entry point", () => {
  assert.equal(isAgentCommand(["/opt/scriptmon/scriptmon-agent", "run"]), true);
  assert.equal(isAgentCommand(["C:\\scriptmon\\scriptmon-agent.exe", "run"]), true);
  assert.equal(
    isAgentCommand(["/opt/a/deno", "run", "-A", "/opt/a/scriptmon-agent.js", "run"]),
    true,
  );
  assert.equal(isAgentCommand(["deno", "run", "-A", "/src/scriptmon/agent/main.ts", "run"]), true);
  assert.equal(isAgentCommand(["python3", "-c", "import socket"]), false);
  assert.equal(isAgentCommand(["socat", "ABSTRACT-LISTEN:scriptmon/machine/x#0"]), false);
  // Only the program itself may be called scriptmon-agent: an argument naming it is not enough.
  assert.equal(isAgentCommand(["sleep", "/tmp/scriptmon-agent"]), false);
});

Deno.test("claimName() keeps names safe and short; abstractAddress() lays out sockaddr_un", () => {
  assert.equal(claimName("token-monitor", 0), "token-monitor#0");
  assert.equal(claimName("a/b c", 3), "a_b_c#3");
  assert.equal(claimName("x".repeat(100), 7).length, 66);
  const { address, length } = abstractAddress("ab");
  assert.deepEqual([...address.subarray(0, 5)], [1, 0, 0, 0x61, 0x62]);
  assert.equal(length, 5);
  assert.throws(() => abstractAddress("y".repeat(107)), /too long/);
});

Deno.test("parsePasswd() maps uids to names", () => {
  const users = parsePasswd(
    "root:x:0:0:root:/root:/bin/bash\nann:x:1001:1001::/home/ann:/bin/sh\n\n",
  );
  assert.equal(users.get(0), "root");
  assert.equal(users.get(1001), "ann");
  assert.equal(users.get(5), undefined);
});

Deno.test({
  name: "a Linux claim is held once, its holder known by pid and uid, and free again on release",
  ignore: !linux,
  async fn() {
    const claims = new LinuxMachineClaims({ prefix: prefix() });
    const first = claims.claim("rates");
    assert.ok(first.held);
    assert.equal(first.held.slot, 0);
    const second = claims.claim("rates");
    assert.equal(second.held, null);
    assert.equal(second.held === null && second.holder?.pid, Deno.pid);
    assert.equal(second.held === null && second.holder?.uid, Deno.uid());
    await first.held.release();
    const third = claims.claim("rates");
    assert.ok(third.held);
    assert.equal(third.held.slot, 0);
    await third.held.release();
  },
});

/** A process that binds `name` (abstract) and listens until killed, started from a file at `path`. */
async function listener(path: string, name: string): Promise<Deno.ChildProcess> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(
    path,
    `const l = Deno.listen({ transport: "unix", path: "\\0" + Deno.args[0] });
     console.log("ready");
     for await (const c of l) c.close();`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-config", path, name],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  assert.equal(value?.trim(), "ready");
  reader.releaseLock();
  return child;
}

Deno.test({
  name: "a squatter's socket on the first slot is skipped: the claim moves to the next one",
  ignore: !linux,
  async fn() {
    const dir = await Deno.makeTempDir();
    const p = prefix();
    const squatter = await listener(join(dir, "squat.ts"), `${p}${claimName("rates", 0)}`);
    try {
      const claims = new LinuxMachineClaims({ prefix: p });
      const attempt = claims.claim("rates");
      assert.ok(attempt.held, "a squatter must not block the claim");
      assert.equal(attempt.held.slot, 1);
      assert.deepEqual(attempt.squatters.map((s) => s.pid), [squatter.pid]);
      // Another agent sees this one as the holder, not the squatter.
      const other = claims.claim("rates");
      assert.equal(other.held === null && other.holder?.pid, Deno.pid);
      await attempt.held.release();
    } finally {
      squatter.kill("SIGKILL");
      await squatter.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "another agent's claim is seen as held by its pid, and is free the moment it is killed",
  ignore: !linux,
  async fn() {
    const dir = await Deno.makeTempDir();
    const p = prefix();
    // The command line of a checkout's agent: .../agent/main.ts.
    const agent = await listener(join(dir, "agent", "main.ts"), `${p}${claimName("rates", 0)}`);
    const claims = new LinuxMachineClaims({ prefix: p });
    try {
      const attempt = claims.claim("rates");
      assert.equal(attempt.held, null);
      assert.equal(attempt.held === null && attempt.holder?.pid, agent.pid);
      assert.equal(attempt.held === null && attempt.holder?.user !== undefined, true);
    } finally {
      agent.kill("SIGKILL");
      await agent.status;
    }
    const after = claims.claim("rates");
    assert.ok(after.held, "the OS releases the claim of a killed holder");
    assert.equal(after.held.slot, 0);
    await after.held.release();
    await Deno.remove(dir, { recursive: true });
  },
});

/** A stand-in for the mutex calls: each name's state, and every call made. */
class FakeMutexes implements Win32Mutexes {
  calls: string[] = [];
  states = new Map<string, "busy" | "denied">();
  tryMutex(name: string) {
    this.calls.push(`try ${name}`);
    const state = this.states.get(name);
    if (state) return { state };
    return { state: "owned" as const, handle: { name } as unknown as Handle };
  }
  releaseMutex(handle: Handle) {
    this.calls.push(`release ${(handle as unknown as { name: string }).name}`);
  }
}

Deno.test("Windows claims are Global\\ mutexes: owned, busy (another agent) or denied (skipped)", async () => {
  const win32 = new FakeMutexes();
  const claims = new WindowsMachineClaims(win32);
  win32.states.set("Global\\scriptmon-machine-rates#0", "denied");
  const attempt = claims.claim("rates");
  assert.ok(attempt.held);
  assert.equal(attempt.held.slot, 1);
  assert.equal(attempt.squatters.length, 1);
  await attempt.held.release();
  await attempt.held.release();
  assert.deepEqual(win32.calls, [
    "try Global\\scriptmon-machine-rates#0",
    "try Global\\scriptmon-machine-rates#1",
    "release Global\\scriptmon-machine-rates#1",
  ]);
  win32.states.set("Global\\scriptmon-machine-rates#1", "busy");
  const busy = claims.claim("rates");
  assert.equal(busy.held, null);
  assert.deepEqual(busy.held === null && busy.holder, { pid: null, uid: null, user: null });
  for (let slot = 0; slot < CLAIM_SLOTS; slot++) {
    win32.states.set(`Global\\scriptmon-machine-rates#${slot}`, "denied");
  }
  const blocked = claims.claim("rates");
  assert.equal(blocked.held, null);
  assert.equal(blocked.held === null && blocked.holder, null);
  assert.equal(blocked.squatters.length, CLAIM_SLOTS);
});

Deno.test("a claim's mutex lets every signed-in user wait on it and release it, nothing more", () => {
  assert.equal(MUTEX_SDDL, "D:(A;;0x00100001;;;AU)(A;;0x001F0001;;;SY)(A;;0x001F0001;;;BA)");
  // SYNCHRONIZE | MUTEX_MODIFY_STATE: what WaitForSingleObject and ReleaseMutex need.
  assert.equal(MUTEX_ACCESS, 0x00100000 | 0x0001);
  const attributes = securityAttributes(0x1234_5678_9abcn);
  const view = new DataView(attributes.buffer);
  assert.equal(view.getUint32(0, true), 24);
  assert.equal(view.getBigUint64(8, true), 0x1234_5678_9abcn);
  assert.equal(view.getUint32(16, true), 0, "not inherited by children");
});

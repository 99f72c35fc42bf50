import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { alive, denoFixture, firstLine, testScript, until } from "../../tests/_helpers.ts";
import { systemClock } from "../clock.ts";
import { platform } from "../platform/mod.ts";
import { reapGroup, type RunEnd, stopTree, type TreeContext } from "./_terminate.ts";

const context = (command: string[], stopTimeoutMs = 2000): TreeContext => ({
  platform,
  clock: systemClock,
  log: getLogger(["scriptmon", "test"]),
  script: testScript("tree", command, { stopTimeoutMs }),
});

/** Spawns `command` detached (its own process group), stdout piped. */
function spawnGroup(command: string[]) {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    detached: true,
  }).spawn();
  const exited: Promise<RunEnd> = child.status.then((s) => ({
    code: s.signal ? null : s.code,
    signal: s.signal,
  }));
  return { child, exited };
}

Deno.test("stopTree() ends a tree that heeds the stop signal, grandchild included", async () => {
  const command = denoFixture("tree.ts");
  const { child, exited } = spawnGroup(command);
  const grandchild = Number(await firstLine(child));
  assert.ok(await alive(grandchild));
  const ended = await stopTree({ pid: child.pid, exited }, context(command));
  assert.deepEqual(ended, { code: null, signal: "SIGTERM" });
  await until("the grandchild gone", async () => !(await alive(grandchild)));
});

Deno.test("stopTree() kills a tree that ignores the stop signal after stop_timeout", async () => {
  const command = denoFixture("tree.ts", "--ignore-term");
  const { child, exited } = spawnGroup(command);
  const grandchild = Number(await firstLine(child));
  const ended = await stopTree({ pid: child.pid, exited }, context(command, 300));
  assert.deepEqual(ended, { code: null, signal: "SIGKILL" });
  await until("the grandchild gone", async () => !(await alive(grandchild)));
});

Deno.test("reapGroup() stops what a leader that ended left in its process group", async () => {
  const command = ["sh", "-c", "sleep 300 & echo $!"];
  const { child, exited } = spawnGroup(command);
  const orphan = Number(await firstLine(child));
  await exited;
  assert.ok(await alive(orphan));
  await reapGroup(child.pid, "orphaned", context(command));
  await until("the orphan gone", async () => !(await alive(orphan)));
  assert.deepEqual(await platform.groupMembers(child.pid), []);
});

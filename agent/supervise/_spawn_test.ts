import assert from "node:assert/strict";
import { tempDir, testScript } from "../../tests/_helpers.ts";
import { platform } from "../platform/mod.ts";
import { checkRunnable, SpawnError, spawnScript } from "./_spawn.ts";

Deno.test("checkRunnable() names the script and the folder that is missing", async () => {
  await assert.rejects(
    checkRunnable(testScript("rates", ["sh", "-c", "true"], { cwd: "/no/such/folder" })),
    new SpawnError('Cannot start script "rates": cwd "/no/such/folder" is not a folder'),
  );
});

Deno.test("checkRunnable() names the script and the command that is not found", async () => {
  await assert.rejects(
    checkRunnable(testScript("rates", ["no-such-program-xyz"])),
    new SpawnError('Cannot start script "rates": command "no-such-program-xyz" not found'),
  );
});

Deno.test("spawnScript() runs in the script's folder, its env over the extra env", async () => {
  await using dir = await tempDir();
  const script = testScript("rates", ["sh", "-c", 'echo "$SCRIPTMON_SCRIPT $A $B"; pwd'], {
    cwd: dir.path,
    env: { A: "own" },
  });
  const child = await spawnScript(script, platform, { A: "extra", B: "extra" });
  const [stdout] = await Promise.all([new Response(child.stdout).text(), child.stderr.cancel()]);
  assert.equal((await child.status).code, 0);
  assert.equal(
    stdout,
    `rates own extra\n${await Deno.realPath(dir.path)}\n`,
  );
});

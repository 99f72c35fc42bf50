/** `once` with tokens: a warning inside warn_before, critical when expired; no start without a token. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { signJwt } from "../agent/tokens/_testing.ts";
import { agentCli, fixtureScript, writeConfig } from "./_agent_process.ts";
import { tempDir } from "./_helpers.ts";

interface Line {
  script: string;
  check: string;
  severity: string;
  state: string;
  message: string;
}

async function once(path: string): Promise<{ code: number; checks: Line[] }> {
  const { code, stdout } = await agentCli("once", "--json", "--config", path);
  return { code, checks: JSON.parse(stdout).checks };
}

Deno.test("once warns (exit 1) inside warn_before and is critical (exit 2) once the token expired", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "sso.jwt");
  const path = await writeConfig(
    dir.path,
    "",
    `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\nwarn_before = ["1h"]\n`,
  );
  await Deno.writeTextFile(file, await signJwt({ exp: Math.floor(Date.now() / 1000) + 7200 }));
  const fine = await once(path);
  assert.equal(fine.code, 0);
  assert.deepEqual(fine.checks.filter((c) => c.check === "token:sso").map((c) => c.severity), [
    "ok",
  ]);

  await Deno.writeTextFile(file, await signJwt({ exp: Math.floor(Date.now() / 1000) + 1800 }));
  const soon = await once(path);
  assert.equal(soon.code, 1);
  const warning = soon.checks.find((c) => c.check === "token:sso")!;
  assert.deepEqual([warning.severity, warning.state], ["warning", "expiring"]);
  assert.match(warning.message, /^expires in (29m( \d+s)?|30m); time left (29m( \d+s)?|30m)$/);

  await Deno.writeTextFile(file, await signJwt({ exp: Math.floor(Date.now() / 1000) - 60 }));
  const gone = await once(path);
  assert.equal(gone.code, 2);
  assert.deepEqual(
    gone.checks.filter((c) => c.check === "token:sso").map((c) => [c.severity, c.state]),
    [["critical", "expired"]],
  );
});

Deno.test("once does not start a script whose token is expired: it reports waiting-for-token", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    join(dir.path, "sso.jwt"),
    await signJwt({ exp: Math.floor(Date.now() / 1000) - 60 }),
  );
  const path = await writeConfig(
    dir.path,
    fixtureScript("picker", "print_hang.ts", "1"),
    `\n[tokens.sso]\nformat = "jwt"\nfile = "sso.jwt"\nused_by = ["picker"]\n`,
  );
  const { code, checks } = await once(path);
  assert.equal(code, 2);
  const picker = checks.find((c) => c.script === "picker")!;
  assert.deepEqual([picker.check, picker.state, picker.severity], [
    "process",
    "waiting-for-token",
    "warning",
  ]);
  assert.match(picker.message, /^token "sso" is expired \(expired 1m( 1s)? ago\)$/);
  const pids = await Array.fromAsync(Deno.readDir(join(dir.path, "data", "pids")));
  assert.deepEqual(pids, []);
});

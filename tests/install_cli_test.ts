/**
 * `scriptmon-agent install`, `status` and `uninstall` as a person runs them on
 * Linux, with a `systemctl` stand-in first on PATH that records its calls
 * (these machines have no user session for `systemctl --user`). The Windows
 * side is checked through the same installer in agent/install/installer_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./_cli.ts";
import { tempDir } from "./_helpers.ts";

const AGENT_MAIN = new URL("../agent/main.ts", import.meta.url).pathname;

Deno.test("install writes and enables the user unit, status says so, uninstall removes it", async () => {
  await using dir = await tempDir();
  const bin = join(dir.path, "bin");
  await Deno.mkdir(bin);
  const calls = join(dir.path, "systemctl.calls");
  await Deno.writeTextFile(
    join(bin, "systemctl"),
    `#!/bin/sh\necho "$*" >> '${calls}'\n[ "$2" = is-active ] && echo active\nexit 0\n`,
  );
  await Deno.chmod(join(bin, "systemctl"), 0o755);
  const config = join(dir.path, "fc", "scriptmon.toml");
  await Deno.mkdir(join(dir.path, "fc"));
  await Deno.writeTextFile(
    config,
    `[agent]\ndata_dir = "data"\napi_port = 0\n[scripts.a]\ncommand = ["sleep", "60"]\n`,
  );
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    HOME: dir.path,
    XDG_CONFIG_HOME: join(dir.path, "cfg"),
  };
  const agent = (...args: string[]) =>
    runCli([Deno.execPath(), "run", "--allow-all", "--unstable-kv", AGENT_MAIN, ...args], { env });

  const installed = await agent("install", "--config", config);
  assert.equal(installed.code, 0, installed.stderr);
  const unit = join(dir.path, "cfg", "systemd", "user", "scriptmon-agent.service");
  assert.match(installed.stdout, /installed: systemd user unit scriptmon-agent\.service/);
  assert.match(installed.stdout, /loginctl enable-linger/);
  const text = await Deno.readTextFile(unit);
  assert.match(
    text,
    new RegExp(
      `^ExecStart=\\S+ run --allow-all .*agent/main\\.ts run --at-logon --config ${config}$`,
      "m",
    ),
  );
  assert.match(text, new RegExp(`^WorkingDirectory=${join(dir.path, "fc")}$`, "m"));
  assert.deepEqual((await Deno.readTextFile(calls)).trim().split("\n").slice(0, 2), [
    "--user daemon-reload",
    "--user enable --now scriptmon-agent.service",
  ]);

  // The stand-in started nothing, so the agent is not running: status says so, and what is installed.
  const status = await agent("status", "--config", config);
  assert.notEqual(status.code, 0);
  assert.match(
    status.stdout,
    new RegExp(
      `at logon: installed \\(systemd user unit scriptmon-agent\\.service, ${unit}, active\\)`,
    ),
  );

  const removed = await agent("uninstall");
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /removed the systemd user unit/);
  assert.equal(await Deno.stat(unit).then(() => true, () => false), false);
  assert.deepEqual((await Deno.readTextFile(calls)).trim().split("\n").slice(-2), [
    "--user disable --now scriptmon-agent.service",
    "--user daemon-reload",
  ]);
  const again = await agent("uninstall");
  assert.match(again.stdout, /nothing to remove/);
});

Deno.test("install refuses a config that does not validate, and registers nothing", async () => {
  await using dir = await tempDir();
  const config = join(dir.path, "scriptmon.toml");
  await Deno.writeTextFile(config, `[scripts.a]\ncommand = ["sleep"]\nstop_timeout = "soon"\n`);
  const out = await runCli(
    [
      Deno.execPath(),
      "run",
      "--allow-all",
      "--unstable-kv",
      AGENT_MAIN,
      "install",
      "--config",
      config,
    ],
    { env: { HOME: dir.path, XDG_CONFIG_HOME: join(dir.path, "cfg"), PATH: "/nonexistent" } },
  );
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /scripts\.a\.stop_timeout/);
  assert.equal(
    await Deno.stat(join(dir.path, "cfg", "systemd")).then(() => true, () => false),
    false,
  );
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { Installer, type RunProgram } from "./installer.ts";

/** A `run` that records each call (and a copy of the XML file it was given) and answers `answer`. */
function recorder(
  answer: (program: string, args: string[]) => { code: number; stdout?: string } = () => ({
    code: 0,
  }),
) {
  const calls: string[] = [];
  const files: Uint8Array[] = [];
  const run: RunProgram = async (program, args) => {
    calls.push([program, ...args].join(" "));
    const xml = args.indexOf("/XML");
    if (args[0] === "/Create" && xml >= 0) files.push(await Deno.readFile(args[xml + 1]));
    const { code, stdout = "" } = answer(program, args);
    return { code, stdout, stderr: code === 0 ? "" : "ERROR: Access is denied." };
  };
  return { calls, files, run };
}

Deno.test("install on Windows registers the task from UTF-16 XML with schtasks, then starts it", async () => {
  const rec = recorder();
  const installer = new Installer({
    os: "windows",
    env: { USERDOMAIN: "AMZN", USERNAME: "ann" },
    run: rec.run,
    agent: ["C:\\scriptmon\\scriptmon-agent.cmd"],
  });
  await installer.install("C:\\fc\\scriptmon.toml", "prod");
  assert.match(rec.calls[0], /^schtasks \/Create \/TN scriptmon-agent \/XML \S+task\.xml \/F$/);
  assert.equal(rec.calls[1], "schtasks /Run /TN scriptmon-agent");
  assert.deepEqual([...rec.files[0].slice(0, 2)], [0xff, 0xfe], "a UTF-16LE byte order mark");
  const xml = new TextDecoder("utf-16le").decode(rec.files[0]);
  assert.match(xml, /<Command>C:\\scriptmon\\scriptmon-agent\.cmd<\/Command>/);
  assert.match(
    xml,
    /<Arguments>run --at-logon --config C:\\fc\\scriptmon\.toml --env prod<\/Arguments>/,
  );
  assert.match(xml, /<UserId>AMZN\\ann<\/UserId>/);
  const tmp = /\/XML (\S+)/.exec(rec.calls[0])![1];
  assert.equal(await Deno.stat(tmp).then(() => true, () => false), false, "the XML file removed");
});

Deno.test("the Windows state reads the task back; uninstall ends and deletes it; a failure names the command", async () => {
  const xml =
    "<Task><Actions><Exec><Command>C:\\a.cmd</Command><Arguments>run</Arguments></Exec></Actions></Task>";
  let installed = true;
  const rec = recorder((_, args) =>
    args[0] === "/Query" ? { code: installed ? 0 : 1, stdout: xml } : { code: 0 }
  );
  const installer = new Installer({
    os: "windows",
    env: { USERNAME: "ann" },
    run: rec.run,
    agent: ["a"],
  });
  assert.deepEqual(await installer.state(), {
    installed: true,
    how: "Task Scheduler task scriptmon-agent",
    where: "scriptmon-agent",
    command: "C:\\a.cmd run",
  });
  assert.equal(await installer.uninstall(), true);
  assert.deepEqual(rec.calls.slice(-2), [
    "schtasks /End /TN scriptmon-agent",
    "schtasks /Delete /TN scriptmon-agent /F",
  ]);
  installed = false;
  assert.equal(await installer.uninstall(), false, "nothing left to remove");

  const denied = new Installer({
    os: "windows",
    env: { USERNAME: "ann" },
    run: recorder(() => ({ code: 1 })).run,
    agent: ["a"],
  });
  await assert.rejects(
    denied.install("C:\\fc\\scriptmon.toml"),
    /schtasks \/Create \/TN scriptmon-agent \/XML .* exited 1: ERROR: Access is denied\./,
  );
});

Deno.test("install on Linux writes the user unit, reloads and enables it; uninstall undoes it", async () => {
  await using dir = await tempDir();
  const rec = recorder((_program, args) =>
    args[1] === "is-active" ? { code: 0, stdout: "active\n" } : { code: 0 }
  );
  const installer = new Installer({
    os: "linux",
    env: { HOME: dir.path, XDG_CONFIG_HOME: join(dir.path, "cfg") },
    run: rec.run,
    agent: ["/opt/scriptmon/scriptmon-agent"],
  });
  const state = await installer.install("/home/ann/fc/scriptmon.toml");
  const unit = join(dir.path, "cfg", "systemd", "user", "scriptmon-agent.service");
  assert.match(
    await Deno.readTextFile(unit),
    /^ExecStart=\/opt\/scriptmon\/scriptmon-agent run --at-logon --config \/home\/ann\/fc\/scriptmon\.toml$/m,
  );
  assert.deepEqual(rec.calls, [
    "systemctl --user daemon-reload",
    "systemctl --user enable --now scriptmon-agent.service",
    "systemctl --user is-active scriptmon-agent.service",
  ]);
  assert.equal(state.installed, true);
  assert.equal(state.where, unit);
  assert.equal(state.active, "active");
  assert.equal(await installer.uninstall(), true);
  assert.equal(await Deno.stat(unit).then(() => true, () => false), false);
  assert.deepEqual(rec.calls.slice(-2), [
    "systemctl --user disable --now scriptmon-agent.service",
    "systemctl --user daemon-reload",
  ]);
  assert.equal((await installer.state()).installed, false);
});

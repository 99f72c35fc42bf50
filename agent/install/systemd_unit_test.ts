import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { quoteSystemdWord, userUnit } from "./systemd_unit.ts";

const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";
const haveAnalyze = await Deno.stat(SYSTEMD_ANALYZE).then(() => true, () => false);
const COLLECTOR_UNIT = resolve(
  import.meta.dirname!,
  "..",
  "..",
  "deploy",
  "scriptmon-collector.service",
);

/** `systemd-analyze verify` of `text` saved as `name`: its exit code and what it printed. */
async function verify(name: string, text: string): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, name), text);
    const out = await new Deno.Command(SYSTEMD_ANALYZE, {
      args: ["verify", join(dir, name)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, output: (decode(out.stdout) + decode(out.stderr)).trim() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("quoteSystemdWord() quotes spaces and quotes, doubles % and $", () => {
  assert.equal(quoteSystemdWord("/usr/bin/deno"), "/usr/bin/deno");
  assert.equal(quoteSystemdWord("/home/ann/fc scripts/a.toml"), '"/home/ann/fc scripts/a.toml"');
  assert.equal(quoteSystemdWord('say "hi"'), '"say \\"hi\\""');
  assert.equal(quoteSystemdWord("100%"), "100%%");
  assert.equal(quoteSystemdWord("$HOME"), "$$HOME");
  assert.equal(quoteSystemdWord(""), '""');
});

Deno.test("the user unit restarts the agent on failure and lets it stop its scripts first", () => {
  const text = userUnit({ argv: ["/opt/a", "run"], workingDirectory: "/home/ann" });
  assert.match(text, /^ExecStart=\/opt\/a run$/m);
  assert.match(text, /^Restart=on-failure$/m);
  assert.match(text, /^KillMode=mixed$/m);
  assert.match(text, /^WorkingDirectory=\/home\/ann$/m);
  assert.match(text, /^WantedBy=default\.target$/m);
  assert.throws(() => userUnit({ argv: ["/opt/a", "x\ny"], workingDirectory: "/" }), /line break/);
});

Deno.test({
  name:
    "systemd-analyze verify passes the user unit, paths with spaces and % included, with no warning",
  ignore: !haveAnalyze,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "fc scripts 100% " });
    try {
      const text = userUnit({
        argv: [Deno.execPath(), "run", "--config", join(dir, "scriptmon.toml")],
        workingDirectory: dir,
      });
      const { code, output } = await verify("scriptmon-agent.service", text);
      assert.equal(code, 0, output);
      assert.equal(output, "", "no warning");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "systemd-analyze verify passes deploy/scriptmon-collector.service with no warning",
  ignore: !haveAnalyze,
  fn: async () => {
    // Its binary is not on this machine: verify needs an ExecStart that exists, so the copy
    // checked runs /bin/true with the same arguments; every other line is the file's.
    const text = (await Deno.readTextFile(COLLECTOR_UNIT))
      .replace(/^ExecStart=\S+/m, "ExecStart=/bin/true");
    assert.match(text, /^ExecStart=\/bin\/true --config \/etc\/scriptmon\/collector\.toml serve$/m);
    const { code, output } = await verify("scriptmon-collector.service", text);
    assert.equal(code, 0, output);
    assert.equal(output, "", "no warning");
  },
});

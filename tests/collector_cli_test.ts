/** The collector's command line, run as a real process on a temporary data folder. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collectorCli } from "./_cli.ts";

const cli = (config: string, ...args: string[]) => collectorCli(config, args);

Deno.test("agent-token create prints the token once; list shows it; revoke stops it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-cli-" });
  try {
    const config = join(dir, "collector.toml");
    await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
    const created = await cli(config, "agent-token", "create", "BFI4", "ws-01");
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^smag_[A-Za-z0-9_-]{43}$/);
    const listed = await cli(config, "agent-token", "list");
    assert.match(listed.stdout, /ws-01\s+BFI4\s+-\s+-\s+\S+\s+-\s+active/);
    assert.ok(!listed.stdout.includes(created.stdout), "the token is never listed");
    assert.equal((await cli(config, "agent-token", "revoke", "ws-01")).code, 0);
    const again = await cli(config, "agent-token", "revoke", "ws-01");
    assert.deepEqual([again.code, again.stderr], [
      2,
      'scriptmon-collector: No active agent token named "ws-01"',
    ]);
    const api = await cli(config, "api-token", "create", "ops");
    assert.match(api.stdout, /^smapi_/);
    const bad = await cli(config, "agent-token", "create", "BFI 4", "x");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid site "BFI 4"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad config file is reported with its path and line, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-cli-" });
  try {
    const config = join(dir, "collector.toml");
    await Deno.writeTextFile(config, `[collector]\nlisten = "nowhere"\n`);
    const result = await cli(config, "agent-token", "list");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /collector\.toml:2: collector\.listen: expected an address/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

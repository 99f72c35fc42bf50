import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigReloader, restartOnlyChanges } from "./reload.ts";
import { loadConfig, type ResolvedCollectorConfig } from "./load.ts";

async function withFile(
  text: string,
  fn: (path: string, initial: ResolvedCollectorConfig) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-reload-" });
  const path = join(dir, "collector.toml");
  try {
    await Deno.writeTextFile(path, text);
    await fn(path, await loadConfig(path, { vars: {} }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an edited config file is applied; a bad edit keeps the last good config", async () => {
  await withFile('[collector]\noffline_after = "30s"\n', async (path, initial) => {
    const applied: ResolvedCollectorConfig[] = [];
    let changed = Promise.withResolvers<void>();
    const reloader = new ConfigReloader({
      initial,
      vars: {},
      pollMs: 20,
      apply: (next) => {
        applied.push(next);
        changed.resolve();
      },
    });
    await reloader.start();
    try {
      await Deno.writeTextFile(path, '[collector]\noffline_after = "2m"\n');
      await changed.promise;
      assert.equal(reloader.current().offlineAfterMs, 120_000);

      // A bad edit: refused, named, and the last good config stays in force.
      await Deno.writeTextFile(path, '[collector]\noffline_after = "soon"\n');
      assert.equal(await reloader.reload("test"), false);
      assert.match(reloader.lastError()!, /collector\.offline_after.*"soon"/s);
      assert.equal(reloader.current().offlineAfterMs, 120_000);
      assert.equal(applied.length, 1);

      changed = Promise.withResolvers<void>();
      await Deno.writeTextFile(path, '[collector]\noffline_after = "45s"\nretention = "7d"\n');
      await changed.promise;
      assert.equal(reloader.current().offlineAfterMs, 45_000);
      assert.equal(reloader.lastError(), null);
    } finally {
      reloader.close();
    }
  });
});

Deno.test("changes to listen, webhooks and the like are the ones that wait for a restart", async () => {
  await withFile('[collector]\nlisten = "127.0.0.1:8790"\n', async (path, initial) => {
    await Deno.writeTextFile(
      path,
      '[collector]\nlisten = "127.0.0.1:9999"\noffline_after = "5m"\n\n' +
        '[webhooks.ops]\nkind = "slack"\nurl = "https://hooks.slack.com/services/T/B/X"\n',
    );
    const next = await loadConfig(path, { vars: {} });
    assert.deepEqual(restartOnlyChanges(initial, next), ["listen", "webhooks"]);
    assert.deepEqual(restartOnlyChanges(initial, initial), []);
  });
});

Deno.test("every reload is reported with the keys it changed, or why it was refused", async () => {
  await withFile('[collector]\noffline_after = "30s"\n', async (path, initial) => {
    const outcomes: unknown[] = [];
    const reloader = new ConfigReloader({
      initial,
      vars: {},
      apply: () => {},
      onReload: (outcome) => outcomes.push(outcome),
    });
    await Deno.writeTextFile(path, '[collector]\noffline_after = "1m"\nretention = "7d"\n');
    assert.equal(await reloader.reload("SIGHUP"), true);
    await Deno.writeTextFile(path, "[collector\n");
    assert.equal(await reloader.reload("SIGHUP"), false);
    assert.deepEqual(outcomes[0], { reason: "SIGHUP", changed: ["offlineAfterMs", "retentionMs"] });
    assert.match((outcomes[1] as { error: string }).error, /invalid TOML/);
  });
});

Deno.test("a reload whose routes name a webhook that is not running is refused", async () => {
  const hook = '[webhooks.ops]\nkind = "slack"\nurl = "https://hooks.slack.com/services/T/B/X"\n';
  await withFile(
    `${hook}\n[notify]\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
    async (path, initial) => {
      const reloader = new ConfigReloader({ initial, vars: {}, apply: () => {} });
      await Deno.writeTextFile(
        path,
        `${hook}\n[webhooks.pager]\nkind = "slack"\nurl = "https://hooks.slack.com/services/T/B/Y"\n\n` +
          `[notify]\n[[notify.routes]]\nwebhooks = ["pager"]\n`,
      );
      assert.equal(await reloader.reload("SIGHUP"), false);
      assert.match(reloader.lastError()!, /webhook "pager", which is not running.*restart/);
      assert.deepEqual(reloader.current().notify.routes[0].webhooks, ["ops"]);
    },
  );
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { type Recorder, startRecorder } from "../../tests/_outbox_recorder.ts";
import { FakeClock } from "../../shared/notify/_outbox_testing.ts";
import { parseConfig } from "../../shared/agent_config/parse.ts";
import { openKv, STORE_FILE } from "../kv.ts";
import { platform } from "../platform/mod.ts";
import { EventLog } from "../supervise/event_log.ts";
import { Supervisor } from "../supervise/supervisor.ts";
import { Notifier, UnknownWebhookError } from "./notifier.ts";

/** A started notifier with JSON webhooks posting to the URLs `hooks` names, and no scripts. */
async function harness(hooks: Record<string, string>) {
  const dir = await tempDir();
  const kv = await openKv(join(dir.path, STORE_FILE));
  const events = await EventLog.open(kv);
  const clock = new FakeClock();
  const pidDir = join(dir.path, "pids");
  await Deno.mkdir(pidDir, { recursive: true });
  const supervisor = new Supervisor({
    platform,
    events,
    clock,
    pidDir,
    logDir: join(dir.path, "logs"),
  });
  const configPath = join(dir.path, "scriptmon.toml");
  const configFor = (hooks: Record<string, string>) =>
    parseConfig(
      Object.entries(hooks).map(([name, url]) =>
        `[webhooks.${name}]\nkind = "json"\nurl = "${url}"\nsecret = "0123456789abcdef"\n`
      ).join(""),
      { path: configPath, vars: {} },
    );
  const notifier = new Notifier({
    kv,
    config: configFor(hooks),
    supervisor,
    events,
    clock,
    info: () => ({
      version: "test",
      pid: Deno.pid,
      site: "BFI4",
      host: "ws-01",
      configPath,
      envName: null,
      startedAt: new Date(clock.now()).toISOString(),
      configError: null,
      resources: null,
      checks: [],
      collector: null,
    }),
  });
  await notifier.start();
  return {
    notifier,
    configFor,
    async [Symbol.asyncDispose]() {
      await notifier.close();
      await supervisor.shutdown();
      await events.flush();
      kv.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** A relayed post the recorder counts as `text`. */
const post = (text: string) => JSON.stringify({ text });

Deno.test("after reconfigure() changes a webhook's URL, a relayed post goes to the new URL once", async () => {
  await using before: Recorder = startRecorder();
  await using after: Recorder = startRecorder();
  await using h = await harness({ ops: before.url });
  await h.notifier.relay("ops", post("first"), "application/json");
  await h.notifier.outbox.idle();

  h.notifier.reconfigure(h.configFor({ ops: after.url }));
  const relayed = await h.notifier.relay("ops", post("second"), "application/json");
  await h.notifier.outbox.idle();

  assert.deepEqual(relayed.duplicate, false);
  assert.deepEqual((await h.notifier.outbox.get(relayed.id))?.state, "sent");
  assert.deepEqual(before.received, ["first"]);
  assert.deepEqual(after.received, ["second"]);
});

Deno.test("after reconfigure() adds a webhook and removes another, relay() takes the new name only", async () => {
  await using hook: Recorder = startRecorder();
  await using h = await harness({ ops: hook.url });
  h.notifier.reconfigure(h.configFor({ dock: hook.url }));
  await h.notifier.relay("dock", post("docked"), "application/json");
  await h.notifier.outbox.idle();
  assert.deepEqual(hook.received, ["docked"]);
  await assert.rejects(
    () => h.notifier.relay("ops", post("gone"), "application/json"),
    (error: unknown) => {
      assert.ok(error instanceof UnknownWebhookError);
      assert.equal(error.message, 'No webhook named "ops" in the config (known: dock)');
      return true;
    },
  );
});

/**
 * Fleet-wide grouping with real processes: the same failure on three
 * agents at two sites is one Slack message that lists all three.
 */
import assert from "node:assert/strict";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";
import { Recorder } from "./_recorder.ts";

/** A script that fails at once, every time: a crash loop after two restarts. */
const CRASHER = `[scripts.loader]\ncommand = ["/bin/sh", "-c", "exit 3"]\n` +
  `restart = { max_restarts = 2, window = "1m" }\n\n`;

Deno.test("the same crash loop on three agents at two sites is one message listing them", async () => {
  await using slack = new Recorder();
  // group_wait covers the agents' start-up, one after the other.
  await using fleet = await Fleet.start({
    extraToml: `[webhooks.ops]\nkind = "slack"\nurl = "${slack.url("/services/T0/B0/x")}"\n\n` +
      `[notify]\ngroup_wait = "8s"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
  });
  const hosts = [["FC1", "ws-1"], ["FC1", "ws-2"], ["FC2", "ws-3"]] as const;
  for (const [site, host] of hosts) {
    await fleet.startAgent(await fleet.agentConfig(site, host, CRASHER));
  }

  await until("crash-looping alerts for all three agents", async () => {
    const { alerts } = await fleet.getJson<{ alerts: { rule: string; host: string }[] }>(
      "/api/v1/alerts?state=firing",
    );
    return alerts.filter((a) => a.rule === "crash-looping").length === 3;
  }, 30_000);
  // The group's message goes out group_wait after the first of them.
  await slack.received(1, 20_000);
  // Recorded as sent once the provider answered: the request may arrive a moment before.
  const crashLoops = await until("the crash-loop message recorded sent", async () => {
    const { notifications } = await fleet.getJson<
      { notifications: { state: string; payload: { alert: { rule: string } } }[] }
    >("/api/v1/notifications");
    const found = notifications.filter((n) => n.payload.alert.rule === "crash-looping");
    return found.length > 0 && found.every((n) => n.state === "sent") ? found : undefined;
  });
  assert.equal(crashLoops.length, 1, JSON.stringify(crashLoops, null, 1));

  const crashMessages = slack.requests.filter((r) => /crash/i.test(r.body));
  assert.equal(crashMessages.length, 1, "one message for the three agents");
  const body = JSON.parse(crashMessages[0].body) as { text: string; blocks: unknown[] };
  assert.match(body.text, /crash-looping: 3 scripts at 2 sites/);
  const blocks = JSON.stringify(body.blocks);
  for (const [site, host] of hosts) {
    assert.ok(
      blocks.includes(host) && blocks.includes(site),
      `${host} (${site}) listed: ${blocks}`,
    );
  }
});

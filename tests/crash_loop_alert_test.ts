/**
 * A crash loop pages once: the script's crash-looping state holds through
 * its retries (each retry up for a while, as a real script's would be), so
 * the collector raises one crash-looping alert for the episode and resolves
 * it once, when a run has lasted reset_after.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";
import { Recorder } from "./_recorder.ts";

const FIXTURE = join(import.meta.dirname!, "fixtures", "crash_then_run.ts");

Deno.test("a crash loop whose retries run a while is one alert, fired once and resolved once", async () => {
  await using slack = new Recorder();
  await using fleet = await Fleet.start({
    extraToml: `[webhooks.ops]\nkind = "slack"\nurl = "${slack.url("/services/T0/B0/x")}"\n\n` +
      `[notify]\ngroup_wait = "1s"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
  });
  const counter = join(fleet.dir, "runs");
  // Six crashes, each after 1.5 s up (long enough for heartbeats to see every retry running),
  // then a run that stays: the crash loop starts at the third restart and ends 5 s into run 7.
  const script = `[scripts.loader]\ncommand = ["${Deno.execPath()}", "run", "-A", "${FIXTURE}", ` +
    `"${counter}", "6", "1500"]\n` +
    `restart = { min_delay = "100ms", max_delay = "500ms", max_restarts = 2, window = "1m", ` +
    `reset_after = "5s" }\n\n`;
  await fleet.startAgent(await fleet.agentConfig("FC1", "ws-1", script));

  type Row = { rule: string; firedAt: string; resolvedAt: string | null };
  const rows = async () =>
    (await fleet.getJson<{ alerts: Row[] }>("/api/v1/alerts")).alerts
      .filter((a) => a.rule === "crash-looping");
  // While it fires, Prometheus sees it by rule and severity, and the outbox by state.
  const metrics = await until("the crash loop firing in /metrics", async () => {
    const text = await (await fleet.api("/metrics")).text();
    const firing =
      /^scriptmon_collector_alerts_firing\{rule="crash-looping",severity="critical"\} 1$/m;
    return firing.test(text) ? text : undefined;
  }, 30_000);
  assert.match(metrics, /^scriptmon_collector_outbox_messages\{state="sent"\} \d+$/m);
  await until(
    "the crash loop over",
    async () => Number(await Deno.readTextFile(counter).catch(() => "0")) >= 7,
    60_000,
  );
  const resolved = await until("the crash-looping alert resolved", async () => {
    const found = await rows();
    return found.length > 0 && found.every((a) => a.resolvedAt !== null) ? found : undefined;
  }, 30_000);
  assert.equal(resolved.length, 1, `one alert for the episode: ${JSON.stringify(resolved)}`);

  const sent = await until("the resolved message sent", () => {
    const messages = slack.requests.filter((r) => /crash/i.test(r.body));
    return messages.some((m) => /resolved/i.test(m.body)) ? messages : undefined;
  }, 30_000);
  assert.equal(sent.length, 2, sent.map((m) => m.body).join("\n"));
  assert.doesNotMatch(sent[0].body, /resolved/i);
});

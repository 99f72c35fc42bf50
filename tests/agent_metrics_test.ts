/**
 * The agent's `/metrics` tells Prometheus when delivery is failing: its
 * notifications by state, from a real agent whose webhook is down, then up.
 */
import assert from "node:assert/strict";
import { startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";
import { writeConfig } from "./_agent_process.ts";
import { tempDir, until } from "./_helpers.ts";
import { promtoolCheck } from "./_promtool.ts";
import { Recorder } from "./_recorder.ts";

function notifications(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (
    const match of metrics.matchAll(/^scriptmon_agent_notifications\{state="([^"]+)"\} (\d+)$/gm)
  ) {
    out[match[1]] = Number(match[2]);
  }
  return out;
}

Deno.test("/metrics counts the agent's notifications by state while a webhook is down and after", async () => {
  // A port that refuses connections until the recorder opens it.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await using dir = await tempDir();
  const path = await writeConfig(
    dir.path,
    `[webhooks.ops]\nkind = "slack"\nurl = "http://127.0.0.1:${port}/hook"\n\n`,
  );
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  try {
    const base = `http://127.0.0.1:${agent.apiPort}`;
    for (const text of ["dock 4 down", "dock 5 down"]) {
      const res = await fetch(`${base}/relay/ops`, {
        method: "POST",
        body: JSON.stringify({ text }),
      });
      assert.equal(res.status, 202);
      await res.body?.cancel();
    }
    const failing = await until("a retrying message in /metrics", async () => {
      const counts = notifications(await (await fetch(`${base}/metrics`)).text());
      return counts.retrying >= 1 ? counts : undefined;
    });
    assert.equal(failing.retrying + failing.queued, 2, JSON.stringify(failing));
    assert.equal(failing.sent, 0);

    await using slack = new Recorder(port);
    await slack.received(2, 60_000);
    const metrics = await until("both sent in /metrics", async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return notifications(text).sent === 2 ? text : undefined;
    });
    assert.equal(notifications(metrics).retrying, 0);
    const { code, complaints } = await promtoolCheck(metrics);
    assert.equal(complaints, "");
    assert.equal(code, 0);
  } finally {
    await agent.shutdown();
  }
});

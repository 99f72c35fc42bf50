/**
 * Two collector processes ("replicas") on one PostgreSQL database, three
 * agent processes at two sites listing both: crash-looping scripts and a site
 * singleton run while the replica leading the periodic work is SIGKILLed. Every
 * event is stored exactly once, every alert message is sent once, the
 * singleton never runs on two agents, and the agents carry on through the
 * other replica, which takes the lead.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, fixtureScript } from "./_agent_process.ts";
import { CollectorProcess, freePort } from "./_fleet.ts";
import { processesWith, until } from "./_helpers.ts";
import { Recorder } from "./_recorder.ts";
import { postgresSkipped } from "./_stores.ts";
import { startTestPostgres } from "./_postgres.ts";

const SINGLETON = "report";

Deno.test({
  name:
    "two collector replicas, one SIGKILLed mid-run: events once, alerts once, one singleton, agents carry on",
  ignore: postgresSkipped !== null || Deno.build.os !== "linux",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const pg = await startTestPostgres();
    const dir = await Deno.makeTempDir({ prefix: "replicas-" });
    await using slack = new Recorder();
    const agents: AgentProcess[] = [];
    const replicas: CollectorProcess[] = [];
    const marker = `singleton-${crypto.randomUUID()}`;
    let sampling = true;
    let sampler: Promise<number> = Promise.resolve(0);
    try {
      const database = await pg.database();
      for (const name of ["a", "b"]) {
        const port = freePort();
        const config = join(dir, `${name}.toml`);
        await Deno.writeTextFile(
          config,
          `[collector]\nlisten = "127.0.0.1:${port}"\nstore = "${database}"\n` +
            `data_dir = "${name}-data"\noffline_after = "5s"\nleader_ttl = "2s"\n\n` +
            `[webhooks.ops]\nkind = "slack"\nurl = "${slack.url("/services/T0/B0/x")}"\n\n` +
            `[notify]\ngroup_wait = "1s"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
        );
        replicas.push(new CollectorProcess(config, port));
      }
      const [a, b] = replicas;
      const apiToken = await a.apiToken("ops", "admin");
      const api = async <T>(replica: CollectorProcess, path: string): Promise<T> => {
        const res = await fetch(new URL(path, replica.url), {
          headers: { authorization: `Bearer ${apiToken}` },
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
        return JSON.parse(text) as T;
      };
      await a.start(); // first: it leads
      await b.start();

      const crasher = fixtureScript("crasher", "exit_after.ts", "300", "1") +
        `restart = { min_delay = "50ms", max_delay = "200ms", max_restarts = 2, window = "1m" }\n\n`;
      const singleton = fixtureScript(SINGLETON, "print_hang.ts", "1", marker) +
        `singleton = "site"\nstop_timeout = "500ms"\n\n`;
      for (
        const [site, host, scripts] of [
          ["BFI4", "ws-1", crasher + singleton],
          ["BFI4", "ws-2", crasher + singleton],
          ["BFI5", "ws-3", crasher],
        ]
      ) {
        const home = join(dir, host);
        await Deno.mkdir(home);
        const token = await a.agentToken(site, host);
        const path = join(home, "scriptmon.toml");
        await Deno.writeTextFile(
          path,
          `[agent]\nsite = "${site}"\nhost = "${host}"\ndata_dir = "data"\napi_port = 0\n\n` +
            `[collector]\nurl = ["${a.url}", "${b.url}"]\ntoken = "${token}"\n` +
            `heartbeat_interval = "1s"\ntimeout = "2s"\nlease_ttl = "3s"\n\n` +
            `[defaults]\nstop_timeout = "2s"\n\n` + scripts,
        );
        const agent = new AgentProcess(path);
        agents.push(agent);
        await agent.ready();
      }
      // From now until the end: never two copies of the singleton (sampled every 100 ms).
      sampler = (async () => {
        let samples = 0;
        for (let i = 0; sampling && i < 3000; i++, samples++) {
          const pids = await processesWith(marker);
          assert.ok(pids.length <= 1, `two copies of ${SINGLETON} at once: pids ${pids}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return samples;
      })();

      // Both replicas serve the fleet the agents report through a; the crash loops alert.
      type Agents = { agents: { host: string; online: boolean }[] };
      await until(
        "three agents online, seen through b",
        async () =>
          (await api<Agents>(b, "/api/v1/agents")).agents.filter((x) => x.online).length === 3,
        30_000,
      );
      type Alerts = { alerts: { rule: string; host: string }[] };
      await until(
        "a crash-looping alert",
        async () =>
          (await api<Alerts>(b, "/api/v1/alerts")).alerts.some((x) => x.rule === "crash-looping"),
        30_000,
      );
      await until(
        "the singleton running",
        async () => (await processesWith(marker)).length === 1,
        30_000,
      );

      // a, the leader, is lost. b leads (its /metrics has the firing alerts) and the agents move on.
      await a.kill();
      await until("b leading the alerting", async () => {
        const text = await (await fetch(new URL("/metrics", b.url), {
          headers: { authorization: `Bearer ${apiToken}` },
        })).text();
        return /^scriptmon_collector_alerts_firing\{rule="crash-looping"/m.test(text);
      }, 30_000);
      for (const agent of agents) {
        await until("the agent reporting to b with nothing pending", async () => {
          const { agent: info } = await agent.status();
          return info.collector?.url === b.url && info.collector.connected &&
            info.collector.pending === 0;
        }, 30_000);
      }
      await until(
        "the singleton running after the takeover",
        async () => (await processesWith(marker)).length === 1,
        30_000,
      );

      // Every event the agents have acked is stored once, in a contiguous run of seqs.
      for (const agent of agents) {
        const { agent: info } = await agent.status();
        const acked = info.collector!.ackedSeq;
        const seqs: number[] = [];
        let cursor: string | null = null;
        for (let page = 0; page < 100; page++) {
          const query = new URLSearchParams({ host: info.host, limit: "1000" });
          if (cursor !== null) query.set("cursor", cursor);
          const body: { events: { seq: number }[]; cursor: string | null } = await api(
            b,
            `/api/v1/events?${query}`,
          );
          seqs.push(...body.events.map((e) => e.seq));
          cursor = body.cursor;
          if (cursor === null) break;
        }
        const upTo = seqs.filter((seq) => seq <= acked).sort((x, y) => x - y);
        assert.ok(acked > 10, `${info.host} acked ${acked} events`);
        assert.deepEqual(
          upTo,
          Array.from({ length: acked }, (_, i) => i + 1),
          `${info.host}'s events`,
        );
      }

      // Every message the collectors sent is one outbox message, sent once (on a busy machine
      // the first alert may still be on its way: the outbox is quiet only once one went out).
      await until("an alert sent", () => slack.requests.length > 0, 30_000);
      await until("the outbox quiet", async () => {
        const { counts } = await api<{ counts: Record<string, number> }>(
          b,
          "/api/v1/notifications",
        );
        return (counts.queued ?? 0) + (counts.sending ?? 0) === 0;
      }, 30_000);
      const { counts } = await api<{ counts: Record<string, number> }>(b, "/api/v1/notifications");
      assert.ok(slack.requests.length > 0, "alerts went out");
      // A send cut by the SIGKILL is "uncertain": it may or may not have arrived, never resent.
      const sent = counts.sent ?? 0;
      assert.ok(
        slack.requests.length >= sent && slack.requests.length <= sent + (counts.uncertain ?? 0),
        `${slack.requests.length} requests for ${JSON.stringify(counts)}`,
      );
      const bodies = slack.requests.map((r) => r.body);
      assert.equal(new Set(bodies).size, bodies.length, "no message sent twice");
    } finally {
      sampling = false;
      const samples = await sampler;
      await Promise.all(agents.map((agent) => agent[Symbol.asyncDispose]()));
      await Promise.all(replicas.map((replica) => replica.stop()));
      await pg.stop();
      await Deno.remove(dir, { recursive: true });
      assert.ok(samples >= 0);
    }
  },
});

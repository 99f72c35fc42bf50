/**
 * `replicas = 2` of a site singleton end to end with real processes: one
 * collector and three agent processes of one site, each configured with the
 * same script. Exactly two copies run, on two different agents, with
 * SCRIPTMON_REPLICA 0 and 1; SIGKILL the agent of one (its copy dies with it)
 * and the third agent runs that slot's copy once the slot's lease runs out,
 * never three copies at once. Each copy appends its start (and stop) with a
 * timestamp and its replica to one file; copies are also found in /proc by a
 * marker on their command line, sampled every 100 ms.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { platform } from "../agent/platform/mod.ts";
import type { AgentProcess } from "./_agent_process.ts";
import { fixtureScript } from "./_agent_process.ts";
import { Fleet } from "./_fleet.ts";
import { alive, processesWith, until } from "./_helpers.ts";

const SITE = "SITER";
const SCRIPT = "shard";
const REPLICAS = 2;
const TTL_MS = 3000;
const SAMPLE_MS = 100;

/** One line of the copies' file: `start|stop <ms> <pid> <SCRIPTMON_REPLICA> <SCRIPTMON_REPLICAS>`. */
interface CopyLine {
  kind: "start" | "stop";
  at: number;
  pid: number;
  replica: string;
  replicas: string;
}

async function records(file: string): Promise<CopyLine[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return text.split("\n").filter((line) => line !== "").map((line) => {
    const [kind, at, pid, replica, replicas] = line.split(" ");
    return { kind: kind as CopyLine["kind"], at: Number(at), pid: Number(pid), replica, replicas };
  });
}

/**
 * Samples the marker's processes every 100 ms, asserting never more than
 * REPLICAS, until `done(pids)` holds; throws after `timeoutMs`. Returns the last sample.
 */
async function sampleUntil(
  marker: string,
  what: string,
  done: (pids: number[]) => boolean,
  timeoutMs: number,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await processesWith(marker);
    assert.ok(pids.length <= REPLICAS, `more than ${REPLICAS} copies at once: pids ${pids}`);
    if (done(pids)) return pids;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (pids ${pids})`);
    }
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
  }
}

/** The script's status on `agent`. */
async function statusOn(agent: AgentProcess) {
  const { scripts } = await agent.status();
  const status = scripts.find((s) => s.name === SCRIPT);
  assert.ok(status, `no ${SCRIPT} on the agent`);
  return status;
}

/**
 * The most copies alive at once by the records: a copy runs from its start
 * line to its stop line, or to `ended` (a time by which it was seen gone),
 * else to now.
 */
function mostAtOnce(all: CopyLine[], ended: Map<number, number>): number {
  const edges: [number, number][] = [];
  for (const start of all.filter((r) => r.kind === "start")) {
    const stop = all.find((r) => r.kind === "stop" && r.pid === start.pid);
    edges.push([start.at, +1], [stop?.at ?? ended.get(start.pid) ?? Infinity, -1]);
  }
  // At equal times an end counts before a start: only a true overlap counts.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, now += step);
  return most;
}

Deno.test("replicas = 2 over three agent processes: two copies on two agents with SCRIPTMON_REPLICA 0 and 1; SIGKILL one and the third agent takes its slot, never three", async () => {
  const marker = `replicas-${crypto.randomUUID()}`;
  try {
    await using fleet = await Fleet.start();
    const file = join(fleet.dir, "copies.txt");
    const script = fixtureScript(SCRIPT, "replica.ts", file, marker) +
      `singleton = "site"\nreplicas = ${REPLICAS}\nstop_timeout = "500ms"\n\n`;
    const configs: string[] = [];
    for (const host of ["r1", "r2", "r3"]) {
      const config = await fleet.agentConfig(SITE, host, script);
      // Fleet.agentConfig() writes the [collector] table; the lease ttl belongs in it.
      const text = await Deno.readTextFile(config);
      assert.ok(text.includes('timeout = "2s"\n'));
      await Deno.writeTextFile(
        config,
        text.replace('timeout = "2s"\n', `timeout = "2s"\nlease_ttl = "${TTL_MS / 1000}s"\n`),
      );
      configs.push(config);
    }
    const agents = await Promise.all(configs.map((config) => fleet.startAgent(config)));

    // Two copies come up, then stay the same two for a lease ttl.
    const first = await sampleUntil(marker, "two copies", (p) => p.length === REPLICAS, 20_000);
    const steadyUntil = Date.now() + TTL_MS;
    await sampleUntil(marker, "a ttl of the same two copies", (pids) => {
      assert.deepEqual(
        pids.toSorted(),
        first.toSorted(),
        "the same copies while their agents live",
      );
      return Date.now() >= steadyUntil;
    }, TTL_MS + 5_000);
    const started = (await records(file)).filter((r) => r.kind === "start");
    assert.equal(started.length, REPLICAS, "each copy wrote its start during the ttl");
    assert.deepEqual(
      started.map((r) => [r.replica, r.replicas]).toSorted(),
      [["0", "2"], ["1", "2"]],
      JSON.stringify(started),
    );
    assert.deepEqual(started.map((r) => r.pid).toSorted(), first.toSorted());

    // On two different agents; the third waits, saying who holds the slots.
    const statuses = await Promise.all(agents.map(statusOn));
    const holders = agents.filter((_, i) => statuses[i].state === "running");
    assert.equal(holders.length, 2, `states ${statuses.map((s) => s.state)}`);
    assert.deepEqual(
      statuses.filter((s) => s.state === "running").map((s) => s.pid).toSorted(),
      first.toSorted(),
    );
    const third = agents[statuses.findIndex((s) => s.state !== "running")];
    const waiting = await statusOn(third);
    assert.match(
      waiting.reason ?? "",
      /^waiting for a site lease slot \(2 of 2 held: SITER\/r\d, SITER\/r\d; the first until .*Z\)$/,
    );
    for (const status of statuses.filter((s) => s.state === "running")) {
      assert.match(status.singleton?.holder ?? "", /^SITER\/r\d, replica [01] of 2$/);
    }

    // SIGKILL one holder: its copy dies with it (no stop line), seen gone at once.
    const victim = holders[0];
    const victimCopy = started.find((r) => r.pid === statuses[agents.indexOf(victim)].pid)!;
    victim.child.kill("SIGKILL");
    await victim.child.status;
    const killedAt = Date.now();
    await until("the killed agent's copy gone", async () => !(await alive(victimCopy.pid)), 5000);
    const ended = new Map([[victimCopy.pid, Date.now()]]);

    // The third agent takes the freed slot once its lease runs out.
    const after = await sampleUntil(
      marker,
      "the third agent's copy",
      (p) => p.length === REPLICAS && !p.includes(victimCopy.pid),
      TTL_MS * 3 + 10_000,
    );
    // Seen in /proc before it wrote its line, maybe.
    const moved = await until(
      "the new copy's start line",
      async () =>
        (await records(file)).find((r) =>
          r.kind === "start" && after.includes(r.pid) && !first.includes(r.pid)
        ),
      5000,
    );
    assert.deepEqual([moved.replica, moved.replicas], [victimCopy.replica, "2"]);
    assert.equal((await statusOn(third)).pid, moved.pid, "the third agent runs it");
    // The slot expires a ttl after its last renewal (before the kill); the third agent asks
    // every third of the ttl; then its copy starts.
    const took = moved.at - killedAt;
    assert.ok(took <= TTL_MS + TTL_MS / 3 + 2_000, `the copy moved ${took} ms after the kill`);

    // It stays the two for a moment, and by the copies' own records never were there three.
    const settledUntil = Date.now() + 1_000;
    await sampleUntil(marker, "1 s of the two copies", (p) => {
      assert.deepEqual(p.toSorted(), after.toSorted());
      return Date.now() >= settledUntil;
    }, 5_000);
    const all = await records(file);
    assert.equal(all.filter((r) => r.kind === "stop").length, 0, JSON.stringify(all));
    assert.equal(mostAtOnce(all, ended), REPLICAS, JSON.stringify(all));
  } finally {
    // Anything left behind (the fleet's disposal stops the agents, and their copies).
    for (const pid of await processesWith(marker)) await platform.killTree(pid).catch(() => {});
  }
});

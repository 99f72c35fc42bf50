/**
 * Two collectors ("replicas") serving from one PostgreSQL database, in one
 * process: what one stores the other serves, a command queued through one
 * reaches an agent long-polling the other at once, one leads the periodic
 * work, and the other takes over when it stops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "./config/load.ts";
import { serve } from "./serve.ts";
import { Store } from "./store/store.ts";
import { events, ingestRequest, script } from "./_testing.ts";
import { closePg, openPgReplicas, postgresSkipped, stopTestStores } from "../tests/_stores.ts";
import type { PgKv } from "./store/postgres/mod.ts";

interface Replica {
  url: string;
  leading: boolean[];
  when(leading: boolean): Promise<void>;
  stop(): Promise<void>;
}

async function replica(kv: PgKv, dir: string, id: string): Promise<Replica> {
  const config = parseConfig(`[collector]\nlisten = "127.0.0.1:0"\nleader_ttl = "1s"\n`, {
    path: join(dir, `${id}.toml`),
    vars: {},
  });
  const controller = new AbortController();
  const listening = Promise.withResolvers<{ port: number }>();
  const leading: boolean[] = [];
  let waiters: { want: boolean; resolve: () => void }[] = [];
  const served = serve({
    config,
    kv,
    signal: controller.signal,
    replicaId: id,
    onListen: listening.resolve,
    onLeader: (now) => {
      leading.push(now);
      waiters = waiters.filter((w) => (w.want === now ? (w.resolve(), false) : true));
    },
  });
  const { port } = await listening.promise;
  return {
    url: `http://127.0.0.1:${port}`,
    leading,
    when: (want) =>
      leading.at(-1) === want ? Promise.resolve() : new Promise<void>((resolve, reject) => {
        const guard = setTimeout(
          () => reject(new Error(`${id} never became leader=${want}`)),
          20_000,
        );
        waiters.push({ want, resolve: () => (clearTimeout(guard), resolve()) });
      }),
    stop: async () => {
      controller.abort();
      await served;
    },
  };
}

Deno.test({
  name: "two collectors on one database serve one fleet; commands cross; the leader hands over",
  ignore: postgresSkipped !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "collector-replicas-" });
    const [kvA, kvB] = await openPgReplicas();
    const now = Date.now();
    const setup = new Store(kvA);
    const agentToken =
      (await setup.createToken({ kind: "agent", name: "ws-01", site: "BFI4", now })).token;
    const apiToken =
      (await setup.createToken({ kind: "api", name: "ops", role: "admin", now })).token;
    const a = await replica(kvA, dir, "a");
    const b = await replica(kvB, dir, "b");
    try {
      const call = (base: string, path: string, token: string, init: RequestInit = {}) =>
        fetch(`${base}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        });
      // Exactly one leads: a started first.
      await a.when(true);
      assert.deepEqual(b.leading, []);

      // An ingest through a is served by b, and a replay through b is stored once.
      const request = ingestRequest({ scripts: [script("rates")], events: events([1, 2, 3]) });
      const first = await call(a.url, "/api/v1/ingest", agentToken, {
        method: "POST",
        body: JSON.stringify(request),
      });
      assert.equal(first.status, 200, await first.clone().text());
      assert.equal((await first.json()).ackedSeq, 3);
      const replay = await call(b.url, "/api/v1/ingest", agentToken, {
        method: "POST",
        body: JSON.stringify(
          ingestRequest({ scripts: [script("rates")], events: events([2, 3, 4]) }),
        ),
      });
      assert.equal((await replay.json()).ackedSeq, 4);
      const listed = await (await call(b.url, "/api/v1/events?limit=10", apiToken)).json();
      assert.deepEqual(listed.events.map((e: { seq: number }) => e.seq), [4, 3, 2, 1]);

      // The agent long-polls b; a restart queued through a reaches it well before the wait ends.
      const started = Date.now();
      const poll = call(b.url, "/api/v1/commands?wait=25000", agentToken);
      await new Promise((resolve) => setTimeout(resolve, 300)); // let the poll start waiting
      const queued = await call(
        a.url,
        "/api/v1/agents/BFI4/ws-01/scripts/rates/restart",
        apiToken,
        {
          method: "POST",
        },
      );
      assert.equal(queued.status, 202);
      const { commands } = await (await poll).json();
      assert.deepEqual(commands.map((c: { action: string }) => c.action), ["restart"]);
      // Woken by a's hint: not by b's own re-read of the queue (every 5 s), nor by the timeout.
      assert.ok(Date.now() - started < 4_000, `answered after ${Date.now() - started} ms`);

      // a stops: b leads within leader_ttl and a third.
      await a.stop();
      await b.when(true);
      assert.deepEqual(a.leading, [true, false]);
    } finally {
      await a.stop().catch(() => {});
      await b.stop();
      await closePg(kvA);
      await closePg(kvB);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

stopTestStores();

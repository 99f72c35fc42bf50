import assert from "node:assert/strict";
import { Outbox } from "../../shared/notify/outbox.ts";
import { okChannel } from "../../shared/notify/_outbox_testing.ts";
import { AuditLog } from "../audit/trail.ts";
import { eraseAgent, eraseSite, eraseUser, totalErased } from "./erasure.ts";
import { SiteLeases } from "./leases.ts";
import { Sessions } from "../auth/sessions.ts";
import { SignInLimiter } from "../auth/signin_limit.ts";
import { SiteDedupe } from "./site_dedupe.ts";
import { Store } from "../store/store.ts";
import { Users } from "../auth/users.ts";
import { events, ingestRequest, script } from "../_testing.ts";

const NOW = Date.parse("2026-05-01T12:00:00Z");

async function withStore(fn: (store: Store, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new Store(kv), kv);
  } finally {
    kv.close();
  }
}

/** Everything one agent leaves in the store: ingest, history, commands, alerts, lease, claim, token. */
async function fill(store: Store, site: string, host: string): Promise<string> {
  const { token, record } = await store.createToken({
    kind: "agent",
    name: `${site}.${host}`,
    site,
    now: NOW,
  });
  await store.setTokenHost(record, host);
  const request = ingestRequest({
    site,
    host,
    events: events([1, 2, 3, 4]),
    scripts: [script("rates")],
    now: new Date(NOW).toISOString(),
  });
  request.tokens = [{
    name: "midway",
    state: "valid",
    expiresAt: null,
    secondsLeft: null,
    predicted: false,
    confidence: 1,
    usedBy: ["rates"],
  }];
  await store.ingest(request, { now: NOW, tokenName: record.name });
  await store.markOffline(NOW + 600_000, 1000);
  await store.commands.queue({
    site,
    host,
    action: "restart",
    script: "rates",
    requestedBy: "api-token:t",
    ttlMs: 60_000,
    now: NOW,
  });
  await store.alerts.open({
    rule: "agent-offline",
    key: `agent-offline|${site}|${host}`,
    severity: "critical",
    site,
    host,
    script: null,
    check: null,
    title: `${host} is offline (${site})`,
    firedAt: new Date(NOW).toISOString(),
  });
  await store.history.saveRollup(site, host, "rates", {
    day: NOW - (NOW % 86_400_000),
    upMs: 1,
    downMs: 0,
    idleMs: 0,
    unknownMs: 0,
    restarts: 0,
  });
  await new SiteLeases(store.kv).acquire({
    site,
    script: `single-${host}`,
    holder: `${site}/${host}`,
    ttlMs: 60_000,
    now: NOW,
  });
  // A slot of a script with replicas, shared by the site's agents (a key below the script's).
  await new SiteLeases(store.kv).acquire({
    site,
    script: "sharded",
    holder: `${site}/${host}`,
    ttlMs: 60_000,
    now: NOW,
    replicas: 3,
  });
  await new SiteDedupe(store.kv).claim({
    site,
    key: `post-${host}`,
    windowMs: 60_000,
    by: `${site}/${host}`,
    now: NOW,
  });
  await store.kv.set(["alerts", "rules", "silence", `s-${host}`], {
    id: `s-${host}`,
    match: { site, host },
    until: new Date(NOW + 3_600_000).toISOString(),
    createdBy: "user:op",
  });
  // A delivered notification about it.
  const outbox = new Outbox(store.kv, { channels: new Map([["ops", okChannel("ops")]]) });
  outbox.start();
  await outbox.enqueue({
    channel: "ops",
    dedupeKey: `agent-offline|${site}|${host}|1`,
    payload: {
      type: "alert",
      alert: {
        rule: "agent-offline",
        severity: "critical",
        status: "firing",
        title: `${host} is offline (${site})`,
        text: "not heard from",
        site,
        host,
        at: new Date(NOW).toISOString(),
        episode: "1",
      },
    },
  });
  await outbox.idle();
  await outbox.close({ graceMs: 0 });
  return token;
}

/** Every entry but the audit trail's, as text. */
async function dump(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  for await (const { key, value } of kv.list({ prefix: [] })) {
    // The outbox's indexes name only ids: checked through counts() and list().
    const index = key[0] === "outbox" && (key[1] === "count" || key[1] === "state");
    // The token revocation counter says nothing about a site.
    if (String(key[0]).startsWith("audit") || index || key[0] === "token_generation") continue;
    const text = value instanceof Uint8Array ? new TextDecoder().decode(value) : value;
    out.push(JSON.stringify([key, text]));
  }
  return out;
}

Deno.test("eraseSite() leaves nothing that mentions the site and leaves the other site as it was", () =>
  withStore(async (store, kv) => {
    const gone = await fill(store, "GONE1", "ws-a");
    await fill(store, "GONE1", "ws-b");
    const kept = await fill(store, "KEEP2", "ws-c");
    const audit = new AuditLog(kv, { now: () => NOW });
    await audit.append({
      actor: "cli:me",
      action: "token.create",
      target: "agent/tok-ws-a",
      result: "ok",
      detail: { site: "GONE1" },
    });
    const before = await dump(kv);
    assert.ok(before.filter((e) => e.includes("GONE1")).length > 20);

    const counts = await eraseSite(store, "GONE1");

    const after = await dump(kv);
    assert.deepEqual(after.filter((e) => e.includes("GONE1")), []);
    assert.deepEqual(after, before.filter((e) => !e.includes("GONE1")));
    assert.ok(after.some((e) => e.includes("KEEP2")));
    assert.equal(counts.agent, 2);
    assert.equal(counts.event, 8);
    assert.equal(counts.event_time, 8);
    assert.equal(counts.token, 2);
    assert.equal(counts.alert, 2);
    assert.equal(counts.alert_open, 2);
    assert.equal(counts.outbox, 2);
    assert.equal(counts.silence, 2);
    const outbox = new Outbox(kv, { channels: new Map() });
    assert.equal((await outbox.counts()).sent, 1);
    assert.deepEqual((await outbox.list({ state: "sent" })).map((m) => m.dedupeKey), [
      "agent-offline|KEEP2|ws-c|1",
    ]);
    // The erased site's agent token no longer works; the other site's does.
    assert.equal(await store.authenticate("agent", gone, NOW), null);
    assert.equal((await store.authenticate("agent", kept, NOW))?.site, "KEEP2");
    // The trail is kept, still verifies, and takes the erasure's own entry.
    await audit.append({
      actor: "cli:me",
      action: "erase.site",
      target: "GONE1",
      result: "ok",
      detail: { total: totalErased(counts) },
    });
    assert.equal((await audit.verify()).ok, true);
  }));

Deno.test("eraseSite() with dryRun counts the same keys and deletes none", () =>
  withStore(async (store, kv) => {
    await fill(store, "GONE1", "ws-a");
    const before = await dump(kv);
    const dry = await eraseSite(store, "GONE1", { dryRun: true });
    assert.deepEqual(await dump(kv), before);
    assert.deepEqual(await eraseSite(store, "GONE1"), dry);
    assert.ok(totalErased(dry) > 10);
  }));

Deno.test("eraseAgent() removes one agent and leaves its site's other agents", () =>
  withStore(async (store, kv) => {
    await fill(store, "SITE1", "host-gone");
    await fill(store, "SITE1", "host-kept");
    const before = await dump(kv);

    const counts = await eraseAgent(store, "SITE1", "host-gone");

    const after = await dump(kv);
    assert.deepEqual(after.filter((e) => e.includes("host-gone")), []);
    assert.deepEqual(after, before.filter((e) => !e.includes("host-gone")));
    assert.equal(await store.getAgent("SITE1", "host-gone"), null);
    assert.notEqual(await store.getAgent("SITE1", "host-kept"), null);
    assert.deepEqual(
      [
        counts.agent,
        counts.event,
        counts.lease,
        counts.dedupe,
        counts.token,
        counts.token_name,
        counts.outbox,
      ],
      [1, 4, 2, 1, 1, 1, 1],
    );
  }));

Deno.test("eraseUser() removes the user, and their sessions stop working", () =>
  withStore(async (_store, kv) => {
    const users = new Users(kv);
    const sessions = new Sessions(kv);
    for (const name of ["alice", "bob"]) {
      await users.add({
        name,
        role: "operator",
        sites: null,
        password: "pw-long-enough",
        now: NOW,
      });
    }
    const a1 = await sessions.create("alice", NOW);
    const a2 = await sessions.create("alice", NOW);
    const b1 = await sessions.create("bob", NOW);
    await new SignInLimiter(kv, {}).attempt("alice", "10.0.0.1", NOW);

    const counts = await eraseUser(kv, "alice");

    assert.deepEqual(counts, { user: 1, session: 2, session_user: 2, signin_fail: 1 });
    assert.equal(await users.get("alice"), null);
    assert.equal(await sessions.get(a1.id, NOW + 1000), null);
    assert.equal(await sessions.get(a2.id, NOW + 1000), null);
    assert.notEqual(await sessions.get(b1.id, NOW + 1000), null);
    assert.deepEqual((await dump(kv)).filter((e) => e.includes("alice")), []);
  }));

Deno.test("eraseUser() of an unknown name erases nothing", () =>
  withStore(async (_store, kv) => {
    assert.equal(totalErased(await eraseUser(kv, "nobody")), 0);
  }));

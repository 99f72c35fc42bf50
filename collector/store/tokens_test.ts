import assert from "node:assert/strict";
import { hashToken, TokenStore } from "./tokens.ts";
import { StoreConflictError } from "./types.ts";

async function withTokens(fn: (tokens: TokenStore, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new TokenStore(kv), kv);
  } finally {
    kv.close();
  }
}

/** `kv`'s member `name`, a method bound to it. */
function bound(kv: Deno.Kv, name: string | symbol) {
  const member = Reflect.get(kv, name, kv);
  return typeof member === "function" ? member.bind(kv) : member;
}

const NOW = Date.parse("2026-05-01T12:00:00Z");

Deno.test("tokens: stored hashed, authenticate, revoke, names unique among live tokens", () =>
  withTokens(async (tokens) => {
    const { token, record } = await tokens.create({
      kind: "agent",
      name: "ws-01",
      site: "BFI4",
      now: NOW,
    });
    assert.match(token, /^smag_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(record.hash, token);
    assert.equal(record.hash, hashToken(token));
    assert.equal((await tokens.authenticate("agent", token, NOW))?.name, "ws-01");
    assert.equal(await tokens.authenticate("api", token, NOW), null);
    await assert.rejects(
      tokens.create({ kind: "agent", name: "ws-01", site: "BFI4", now: NOW }),
      new StoreConflictError(
        'An agent token named "ws-01" exists already; revoke it first or pick another name',
      ),
    );
    assert.equal((await tokens.revoke("agent", "ws-01", NOW))?.revoked, true);
    assert.equal(await tokens.authenticate("agent", token, NOW), null);
    await tokens.create({ kind: "agent", name: "ws-01", site: "BFI4", now: NOW });
    assert.equal((await tokens.list("agent")).length, 2);
  }));

Deno.test("an API token reads only, of every site, unless made with a role and sites", () =>
  withTokens(async (tokens) => {
    const { token, record } = await tokens.create({ kind: "api", name: "ops", now: NOW });
    assert.match(token, /^smapi_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual([record.role, record.sites], ["viewer", null]);
    const scoped = await tokens.create({
      kind: "api",
      name: "bfi4",
      role: "operator",
      sites: ["BFI4"],
      now: NOW,
    });
    assert.deepEqual([scoped.record.role, scoped.record.sites], ["operator", ["BFI4"]]);
  }));

Deno.test("a token's use is written at most once a minute, by flushTouches, not by the request", () =>
  withTokens(async (tokens, kv) => {
    const { token } = await tokens.create({ kind: "api", name: "ops", now: NOW });
    const at = (ms: number) => new Date(ms).toISOString();
    const stored = async () => (await new TokenStore(kv).list("api"))[0].lastUsedAt;
    assert.equal((await tokens.authenticate("api", token, NOW))?.lastUsedAt, at(NOW));
    assert.equal(await stored(), null, "written on the request's path");
    assert.equal(await tokens.flushTouches(), 1);
    assert.equal(await stored(), at(NOW));
    assert.equal((await tokens.authenticate("api", token, NOW + 59_000))?.lastUsedAt, at(NOW));
    assert.equal(await tokens.flushTouches(), 0);
    assert.equal(
      (await tokens.authenticate("api", token, NOW + 60_000))?.lastUsedAt,
      at(NOW + 60_000),
    );
    assert.equal(await tokens.flushTouches(), 1);
    assert.equal(await stored(), at(NOW + 60_000));
  }));

Deno.test("a fleet's token uses are written in a few commits; a revocation in between wins", () =>
  withTokens(async (tokens, kv) => {
    const made = [];
    for (let i = 0; i < 25; i++) {
      made.push(await tokens.create({ kind: "agent", name: `ws-${i}`, site: "BFI4", now: NOW }));
    }
    let commits = 0;
    const counted = new Proxy(kv, {
      get(target, name) {
        if (name !== "atomic") return bound(target, name);
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => (commits++, commit());
          return op;
        };
      },
    });
    const collector = new TokenStore(counted);
    for (const { token } of made) assert.ok(await collector.authenticate("agent", token, NOW));
    assert.equal(commits, 0, "a commit on a request's path");
    await tokens.revoke("agent", "ws-3", NOW); // through another collector, before the write
    assert.equal(await collector.flushTouches(), 24);
    assert.equal(commits, 3, "a Deno KV file reads 10 keys at a time: 3 commits for 25 uses");
    const listed = new Map((await tokens.list("agent")).map((t) => [t.name, t]));
    assert.equal(listed.get("ws-3")?.revoked, true);
    assert.equal(listed.get("ws-3")?.lastUsedAt, null);
    assert.equal(listed.get("ws-24")?.lastUsedAt, new Date(NOW).toISOString());
  }));

Deno.test("token uses that cannot be written wait for the next flush", () =>
  withTokens(async (tokens, kv) => {
    const { token } = await tokens.create({ kind: "api", name: "ops", now: NOW });
    let away = true;
    const flaky = new Proxy(kv, {
      get(target, name) {
        const member = bound(target, name);
        if (name !== "getMany") return member;
        return (...args: unknown[]) =>
          away ? Promise.reject(new Error("database away")) : member(...args);
      },
    });
    const collector = new TokenStore(flaky);
    assert.ok(await collector.authenticate("api", token, NOW));
    await assert.rejects(collector.flushTouches(), /database away/);
    away = false;
    assert.equal(await collector.flushTouches(), 1);
    assert.equal((await tokens.list("api"))[0].lastUsedAt, new Date(NOW).toISOString());
  }));

Deno.test("an agent token is bound to the first host that uses it, for good", () =>
  withTokens(async (tokens) => {
    const { record } = await tokens.create({ kind: "agent", name: "a", site: "BFI4", now: NOW });
    assert.equal(await tokens.bindHost(record, "ws-01"), "ws-01");
    assert.equal(await tokens.bindHost(record, "ws-02"), "ws-01");
    assert.equal((await tokens.list("agent"))[0].host, "ws-01");
    await tokens.revoke("agent", "a", NOW);
    assert.equal(await tokens.bindHost(record, "ws-01"), null);
  }));

Deno.test("a verified token costs no store read per request; one revoked elsewhere is refused within about a second", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let reads = 0;
    const counted = new Proxy(kv, {
      get(target, name) {
        const member = Reflect.get(target, name, target);
        if (name === "get" || name === "getMany") {
          return (...args: unknown[]) => {
            reads++;
            return (member as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof member === "function" ? member.bind(target) : member;
      },
    });
    const collector = new TokenStore(counted);
    const cli = new TokenStore(kv);
    const { token } = await cli.create({ kind: "agent", name: "ws-01", site: "BFI4", now: NOW });
    assert.ok(await collector.authenticate("agent", token, NOW));
    const before = reads;
    for (let i = 1; i <= 100; i++) assert.ok(await collector.authenticate("agent", token, NOW + i));
    // At most the revocation counter, read once a second (and this loop takes far less).
    assert.ok(reads - before <= 2, `${reads - before} store reads for 100 requests`);
    await cli.revoke("agent", "ws-01", NOW);
    const revokedAt = performance.now();
    let refusedAfter: number | null = null;
    for (let i = 0; i < 60 && refusedAfter === null; i++) {
      if (await collector.authenticate("agent", token, NOW) === null) {
        refusedAfter = performance.now() - revokedAt;
      } else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(refusedAfter !== null, "the revoked token was still accepted after 3 s");
  } finally {
    kv.close();
  }
});

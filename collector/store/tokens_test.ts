import assert from "node:assert/strict";
import { hashToken, TokenStore } from "./tokens.ts";
import { StoreConflictError } from "./types.ts";

async function withTokens(fn: (tokens: TokenStore) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new TokenStore(kv));
  } finally {
    kv.close();
  }
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

Deno.test("authenticate() writes lastUsedAt at most once a minute", () =>
  withTokens(async (tokens) => {
    const { token } = await tokens.create({ kind: "api", name: "ops", now: NOW });
    const at = (ms: number) => new Date(ms).toISOString();
    assert.equal((await tokens.authenticate("api", token, NOW))?.lastUsedAt, at(NOW));
    assert.equal((await tokens.authenticate("api", token, NOW + 59_000))?.lastUsedAt, at(NOW));
    assert.equal(
      (await tokens.authenticate("api", token, NOW + 60_000))?.lastUsedAt,
      at(NOW + 60_000),
    );
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

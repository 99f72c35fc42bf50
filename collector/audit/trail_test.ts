import assert from "node:assert/strict";
import { type AuditEntry, AuditLog, entryHash } from "./trail.ts";

async function withAudit(
  fn: (audit: AuditLog, kv: Deno.Kv, clock: { t: number }) => Promise<void>,
) {
  const kv = await Deno.openKv(":memory:");
  const clock = { t: Date.parse("2026-05-01T12:00:00Z") };
  try {
    await fn(new AuditLog(kv, { now: () => clock.t }), kv, clock);
  } finally {
    kv.close();
  }
}

async function appendMany(audit: AuditLog, clock: { t: number }, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    clock.t += 60_000;
    await audit.append({
      actor: "user:alice",
      address: "10.0.0.7",
      action: "command.restart",
      target: `BFI4/ws-0${i}/rates`,
      result: "ok",
    });
  }
}

Deno.test("an untouched trail verifies; entries chain by hash and list newest first", async () => {
  await withAudit(async (audit, _kv, clock) => {
    assert.deepEqual(await audit.verify(), { ok: true, entries: 0, first: null, last: null });
    await appendMany(audit, clock, 5);
    assert.deepEqual(await audit.verify(), { ok: true, entries: 5, first: 1, last: 5 });
    const listed = await audit.list({ limit: 10 });
    assert.deepEqual(listed.map((e) => e.seq), [5, 4, 3, 2, 1]);
    assert.equal(listed[0].prev, listed[1].hash);
    assert.equal(listed[0].address, "10.0.0.7");
  });
});

Deno.test("verify() finds a changed entry, a removed one and entries cut off the end", async () => {
  await withAudit(async (audit, kv, clock) => {
    await appendMany(audit, clock, 5);
    const third = (await kv.get<AuditEntry>(["audit", 3])).value!;

    await kv.set(["audit", 3], { ...third, actor: "user:mallory" });
    let verdict = await audit.verify();
    assert.equal(verdict.ok, false);
    assert.match(!verdict.ok ? verdict.problem : "", /entry 3 was changed/);

    await kv.set(["audit", 3], third);
    assert.equal((await audit.verify()).ok, true, "restored: fine again");

    await kv.delete(["audit", 3]);
    verdict = await audit.verify();
    assert.match(!verdict.ok ? verdict.problem : "", /entry 3 is missing/);
    await kv.set(["audit", 3], third);

    await kv.delete(["audit", 5]);
    verdict = await audit.verify();
    assert.match(!verdict.ok ? verdict.problem : "", /ends at entry 4 but its head names entry 5/);
  });
});

Deno.test("a re-hashed forgery does not fit the chain after it", async () => {
  await withAudit(async (audit, kv, clock) => {
    await appendMany(audit, clock, 3);
    const second = (await kv.get<AuditEntry>(["audit", 2])).value!;
    const { hash: _old, ...fields } = { ...second, result: "refused" as const };
    await kv.set(["audit", 2], { ...fields, hash: await entryHash(fields) });
    const verdict = await audit.verify();
    assert.match(!verdict.ok ? verdict.problem : "", /entry 3 does not follow entry 2/);
  });
});

Deno.test("concurrent appends get consecutive seqs and the trail still verifies", async () => {
  await withAudit(async (audit) => {
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        audit.append({
          actor: "api-token:ops",
          action: "alert.ack",
          target: `a-${i}`,
          result: "ok",
        })),
    );
    assert.deepEqual(await audit.verify(), { ok: true, entries: 25, first: 1, last: 25 });
  });
});

Deno.test("purge() drops old entries and moves the anchor: what is kept verifies", async () => {
  await withAudit(async (audit, _kv, clock) => {
    await appendMany(audit, clock, 6);
    const cut = Date.parse("2026-05-01T12:03:30Z");
    assert.equal(await audit.purge(cut), 3);
    assert.deepEqual(await audit.verify(), { ok: true, entries: 3, first: 4, last: 6 });
    await appendMany(audit, clock, 1);
    assert.deepEqual(await audit.verify(), { ok: true, entries: 4, first: 4, last: 7 });
  });
});

Deno.test("details whose names could hold a secret are never written", async () => {
  await withAudit(async (audit) => {
    const entry = await audit.append({
      actor: "cli:root",
      action: "token.create",
      target: "agent/BFI4/ws-07",
      result: "ok",
      detail: { site: "BFI4", token: "smagt_xyz", password: "hunter2", webhookUrl: "https://x" },
    });
    assert.deepEqual(entry.detail, { site: "BFI4" });
  });
});

Deno.test("verify() on a busy trail checks it up to its head: later appends are no cut-off", async () => {
  await withAudit(async (audit, _kv, clock) => {
    await appendMany(audit, clock, 600);
    const [verdict] = await Promise.all([
      audit.verify(),
      (async () => {
        for (let i = 0; i < 5; i++) {
          await audit.append({
            actor: "api-token:ops",
            action: "alert.ack",
            target: "a",
            result: "ok",
          });
        }
      })(),
    ]);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal((await audit.verify()).ok, true);
  });
});

Deno.test("entries removed from the middle are found even when the anchor is moved to hide them", async () => {
  await withAudit(async (audit, kv, clock) => {
    await appendMany(audit, clock, 6);
    const fourth = (await kv.get<AuditEntry>(["audit", 4])).value!;
    await kv.delete(["audit", 3]);
    await kv.delete(["audit", 4]);
    await kv.set(["audit_anchor"], { seq: 4, hash: fourth.hash });
    const verdict = await audit.verify();
    assert.equal(verdict.ok, false, JSON.stringify(verdict));
  });
});

/**
 * The audit trail through the app: sign-ins and their failures, commands,
 * acknowledgements, sign-outs; who, from where, what, the result; the
 * trail's API for admins only, as JSON and CSV.
 */
import assert from "node:assert/strict";
import { AuditLog } from "../collector/audit/mod.ts";
import { script } from "../collector/_testing.ts";
import { withWeb } from "./_web.ts";

interface Entry {
  actor: string;
  action: string;
  target: string;
  result: string;
}

Deno.test("sign-ins, failed sign-ins, commands and sign-outs are on the trail with who and the result", async () => {
  await withWeb(async ({ app, store, addUser, signIn, ingest }) => {
    await addUser("olga", "operator");
    await addUser("vera", "viewer");
    await addUser("ada", "admin");
    (await ingest({ site: "BFI4", host: "ws-07", scripts: [script("rates")] })).body?.cancel();

    const failed = await app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ username: "olga", password: "wrong" }),
    });
    assert.equal(failed.status, 401);
    await failed.body?.cancel();
    const olga = await signIn("olga");
    const restart = await olga.post("/api/v1/agents/BFI4/ws-07/scripts/rates/restart");
    assert.equal(restart.status, 202);
    const { id } = await restart.json();
    const acked = await ingest({
      site: "BFI4",
      host: "ws-07",
      scripts: [script("rates")],
      acks: [{ id, ok: true, message: "restarted (pid 4711)", at: new Date().toISOString() }],
    });
    assert.equal(acked.status, 200);
    await acked.body?.cancel();
    const vera = await signIn("vera");
    const forged = await vera.post("/api/v1/agents/BFI4/ws-07/scripts/rates/stop");
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    (await olga.post("/logout", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${olga.csrf}`,
    })).body?.cancel();

    const audit = new AuditLog(store.kv);
    const entries = (await audit.list({ limit: 100 })).reverse();
    const seen = entries.map((e) => [e.actor, e.action, e.target, e.result]);
    assert.deepEqual(seen, [
      ["user:olga", "signin.failed", "olga", "refused"],
      ["user:olga", "signin", "olga", "ok"],
      ["user:olga", "command.restart", "BFI4/ws-07/rates", "ok"],
      ["agent-token:BFI4-ws-07", "command.restart.result", "BFI4/ws-07/rates", "ok"],
      ["user:vera", "signin", "vera", "ok"],
      ["user:vera", "command.stop", "BFI4/ws-07/rates", "refused"],
      ["user:olga", "signout", "", "ok"],
    ]);
    assert.equal((await audit.verify()).ok, true);

    // The trail is for admins.
    assert.equal((await vera.request("/api/v1/audit")).status, 403);
    const ada = await signIn("ada");
    const listed = await (await ada.request("/api/v1/audit?action=command")).json();
    assert.deepEqual(
      listed.entries.map((e: Entry) => `${e.action} ${e.result}`),
      ["command.stop refused", "command.restart.result ok", "command.restart ok"],
    );
    const csv = await (await ada.request("/api/v1/audit?format=csv")).text();
    const lines = csv.trim().split("\r\n");
    assert.equal(lines[0], "seq,at,actor,address,action,target,result,detail,prev,hash");
    assert.match(lines.at(-1)!, /^1,.*,user:olga,,signin\.failed,olga,refused,/);
  });
});

Deno.test("requests without any credential are not anybody's actions: the trail stays clean", async () => {
  await withWeb(async ({ app, store }) => {
    for (let i = 0; i < 20; i++) {
      const res = await app.request("/api/v1/silences", { method: "POST", body: "{}" });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    assert.deepEqual(await new AuditLog(store.kv).list({ limit: 10 }), []);
  });
});

Deno.test("a flood of failed sign-ins puts at most 20 an hour on the trail, and counts the rest", async () => {
  await withWeb(async ({ app, store, clock }) => {
    for (let i = 0; i < 30; i++) {
      const res = await app.request("/login", {
        method: "POST",
        body: new URLSearchParams({ username: `=HYPERLINK("x")${i}`, password: "wrong" }),
      });
      await res.body?.cancel();
    }
    const audit = new AuditLog(store.kv);
    assert.equal((await audit.list({ limit: 100 })).length, 20);
    assert.equal((await audit.verify()).ok, true);
    // Still within the hour: nothing more on the trail.
    clock.set(clock.now() + 30 * 60_000);
    await (await app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ username: "nobody", password: "wrong" }),
    })).body?.cancel();
    assert.equal((await audit.list({ limit: 100 })).length, 20);
    // The next hour's first entry says how many were left off.
    clock.set(clock.now() + 60 * 60_000);
    const res = await app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ username: "nobody", password: "wrong" }),
    });
    await res.body?.cancel();
    const [latest] = await audit.list({ limit: 1 });
    assert.equal(latest.detail.notAuditedBefore, 11);
  });
});

/**
 * The audit page (`GET /audit`): for admins of every site, with the
 * verdict of the hash chain at the top, newest entries first, filters and
 * the CSV link.
 */
import assert from "node:assert/strict";
import type { AuditEntry } from "../collector/audit/mod.ts";
import { withAccess } from "./_access.ts";

Deno.test("the audit page shows an intact trail's entries newest first, filtered, with the CSV link", async () => {
  await withAccess(async (f) => {
    await f.audit.append({
      actor: "user:ann",
      address: "10.0.0.9",
      action: "alert.ack",
      target: "a-1",
      result: "ok",
      detail: { note: "<script>x</script>" },
    });
    await f.audit.append({ actor: "cli:ops", action: "backup", target: "/tmp/d", result: "ok" });
    const res = await f.request("admin", "cookie", "/audit");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<p id="verify" class="verify ok">.*intact.*Verified \d+ entries/s);
    const rows = [
      ...html.matchAll(
        /<tr><td class="num">(\d+)<\/td><td><time datetime="[^"]+">[^<]* UTC<\/time><\/td><td>([^<]*)<\/td>/g,
      ),
    ]
      .map((m) => [Number(m[1]), m[2]]);
    assert.deepEqual(rows.slice(0, 2).map((r) => r[1]), ["cli:ops", "user:ann"]);
    assert.ok(rows.every((r, i) => i === 0 || r[0] < rows[i - 1][0]), "newest first");
    assert.ok(!html.includes("<script>x</script>"), "detail is escaped");
    assert.match(html, /<a id="audit-csv" href="\/api\/v1\/audit\?format=csv">/);
    assert.match(html, /<a href="\/audit" aria-current="page">Audit<\/a>/);

    const filtered = await (await f.request("admin", "cookie", "/audit?action=backup")).text();
    assert.match(filtered, /<td>backup<\/td>/);
    assert.ok(!filtered.includes("<td>alert.ack</td>"));
    assert.match(filtered, /href="\/api\/v1\/audit\?format=csv&amp;action=backup"/);
    const csv = await f.request("admin", "cookie", "/api/v1/audit?format=csv&action=backup");
    assert.equal(csv.status, 200);
    assert.match(
      await csv.text(),
      /^seq,at,actor,address,action,target,result,detail,prev,hash\r?\n\d+,[^,]+,cli:ops,/,
    );
  });
});

Deno.test("the audit page says when the trail is broken, naming the entry", async () => {
  await withAccess(async (f) => {
    const entry = await f.audit.append({
      actor: "user:ann",
      action: "x",
      target: "y",
      result: "ok",
    });
    const key = ["audit", entry.seq];
    const stored = await f.store.kv.get<AuditEntry>(key);
    await f.store.kv.set(key, { ...stored.value!, actor: "user:mallory" });
    const html = await (await f.request("admin", "cookie", "/audit")).text();
    assert.match(
      html,
      new RegExp(`<p id="verify" class="verify bad">.*broken.*Entry ${entry.seq}: `, "s"),
    );
  });
});

Deno.test("only admins of every site see the audit page and its nav link", async () => {
  await withAccess(async (f) => {
    for (const who of ["viewer", "operator", "wrong"] as const) {
      const page = await f.request(who, "cookie", "/audit", { headers: { accept: "text/html" } });
      assert.equal(page.status, 403, who);
      const fleet = await (await f.request(who, "cookie", "/")).text();
      assert.ok(!fleet.includes('href="/audit"'), `${who} has no audit link`);
    }
    const bad = await f.request("admin", "cookie", "/audit?since=soon");
    assert.deepEqual([bad.status, (await bad.text()).includes("since: expected a time like")], [
      400,
      true,
    ]);
  });
});

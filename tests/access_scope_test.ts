/**
 * A principal scoped to some sites sees nothing of another site: in the
 * REST API (lists, `?site=`, CSV and xlsx exports), the pages, and its
 * silences; the same for a signed-in user and an API token.
 */
import assert from "node:assert/strict";
import { events, ingestRequest } from "../collector/_testing.ts";
import { type AccessFixture, type Credential, HOST, OTHER, SITE, withAccess } from "./_access.ts";

const VIAS = ["cookie", "token"] as const satisfies readonly Credential[];

/** Both agents report events, and a script of each is down with an alert. */
async function seed(f: AccessFixture): Promise<void> {
  for (const [site, host] of [[SITE, HOST], [OTHER, "ws-02"]]) {
    await f.store.ingest(ingestRequest({ site, host, events: events([1, 2, 3]) }), {
      now: f.now(),
      tokenName: host,
    });
    await f.store.alerts.open(
      {
        rule: "script-down",
        key: `script-down|${site}|${host}|rates|`,
        severity: "critical",
        site,
        host,
        script: "rates",
        check: null,
        title: `rates is down on ${site}/${host}`,
        firedAt: new Date(f.now()).toISOString(),
      } as Parameters<typeof f.store.alerts.open>[0],
    );
  }
}

for (const via of VIAS) {
  Deno.test(`a principal of one site lists only that site's sites, agents, scripts, events, alerts, uptime and tokens (${via})`, async () => {
    await withAccess(async (f) => {
      await seed(f);
      const sitesOf = async (path: string, pick: (body: never) => { site: string }[]) => {
        const res = await f.request("wrong", via, path);
        assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
        return [...new Set(pick(await res.json() as never).map((x) => x.site))];
      };
      assert.deepEqual(await sitesOf("/api/v1/sites", (b: { sites: [] }) => b.sites), [OTHER]);
      assert.deepEqual(await sitesOf("/api/v1/agents", (b: { agents: [] }) => b.agents), [OTHER]);
      assert.deepEqual(await sitesOf("/api/v1/scripts", (b: { scripts: [] }) => b.scripts), [
        OTHER,
      ]);
      assert.deepEqual(await sitesOf("/api/v1/events", (b: { events: [] }) => b.events), [OTHER]);
      assert.deepEqual(await sitesOf("/api/v1/alerts", (b: { alerts: [] }) => b.alerts), [OTHER]);
      assert.deepEqual(
        await sitesOf("/api/v1/reports/uptime", (b: { scripts: [] }) => b.scripts),
        [OTHER],
      );
      assert.deepEqual(await sitesOf("/api/v1/tokens", (b: { tokens: [] }) => b.tokens), []);
      // An admin of every site sees both.
      const all = await (await f.request("admin", via, "/api/v1/events")).json();
      assert.deepEqual(
        [...new Set(all.events.map((e: { site: string }) => e.site))].sort(),
        [SITE, OTHER].sort(),
      );
    });
  });

  Deno.test(`?site= of another site is refused with 403, in JSON, CSV and xlsx alike (${via})`, async () => {
    await withAccess(async (f) => {
      await seed(f);
      const who = via === "cookie" ? 'User "wrong"' : 'API token "t-wrong"';
      for (
        const path of [
          "/api/v1/events?site=BFI4",
          "/api/v1/events?site=BFI4&format=csv",
          "/api/v1/events?site=BFI4&format=xlsx",
          "/api/v1/reports/uptime?site=BFI4",
          "/api/v1/reports/uptime?site=BFI4&format=csv",
          "/api/v1/reports/uptime?site=BFI4&format=xlsx",
          "/api/v1/agents?site=BFI4",
          "/api/v1/scripts?site=BFI4",
          "/api/v1/sites?site=BFI4",
          "/api/v1/alerts?site=BFI4",
          "/api/v1/tokens?site=BFI4",
          "/api/v1/notifications?site=BFI4",
        ]
      ) {
        const res = await f.request("wrong", via, path);
        assert.deepEqual([path, res.status, await res.json()], [path, 403, {
          error: `${who} may not see site "BFI4"`,
        }]);
      }
    });
  });

  Deno.test(`the CSV exports of a principal of one site hold only its rows (${via})`, async () => {
    await withAccess(async (f) => {
      await seed(f);
      for (const path of ["/api/v1/events?format=csv", "/api/v1/reports/uptime?format=csv"]) {
        const res = await f.request("wrong", via, path);
        assert.equal(res.status, 200);
        const lines = (await res.text()).trim().split(/\r?\n/).slice(1);
        assert.ok(lines.length > 0, `${path}: no rows`);
        assert.ok(lines.every((l) => !l.includes(SITE)), `${path} leaks ${SITE}: ${lines}`);
      }
    });
  });
}

Deno.test("the silences of a principal of some sites must name one of them; it sees and removes only those", async () => {
  await withAccess(async (f) => {
    const post = (match: Record<string, string>) =>
      f.request("wrong", "token", "/api/v1/silences", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ match, for: "1h" }),
      });
    const noSite = await post({ script: "rates" });
    assert.deepEqual([noSite.status, await noSite.json()], [403, {
      error:
        'API token "t-wrong" may silence only its sites (SEA8): match.site must name one, got null',
    }]);
    assert.equal((await post({ site: SITE })).status, 403);
    const own = await post({ site: OTHER, script: "rates" });
    assert.equal(own.status, 201);
    const theirs = await f.request("admin", "token", "/api/v1/silences", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ match: { site: SITE }, for: "1h" }),
    });
    const { silence } = await theirs.json();
    const listed = await (await f.request("wrong", "token", "/api/v1/silences")).json();
    assert.deepEqual(listed.silences.map((s: { match: unknown }) => s.match), [
      { site: OTHER, script: "rates" },
    ]);
    const removed = await f.request("wrong", "token", `/api/v1/silences/${silence.id}`, {
      method: "DELETE",
    });
    assert.equal(removed.status, 403);
    assert.match((await removed.json()).error, /may remove only silences of its sites \(SEA8\)/);
  });
});

Deno.test("the pages of a user of one site show nothing of another", async () => {
  await withAccess(async (f) => {
    await seed(f);
    for (const path of ["/", "/alerts", "/export", "/notifications", "/reports"]) {
      const res = await f.request("wrong", "cookie", path);
      const html = await res.text();
      assert.equal(res.status, 200, path);
      assert.ok(!html.includes(SITE), `${path} shows ${SITE}`);
    }
    const fleet = await (await f.request("wrong", "cookie", "/")).text();
    assert.ok(fleet.includes(OTHER), "the fleet page shows the user's own site");
  });
});

Deno.test("an alert of another site cannot be acknowledged, and a command on it not queued", async () => {
  await withAccess(async (f) => {
    await seed(f);
    const [alert] = await f.store.alerts.list({ site: SITE });
    const ack = await f.request("wrong", "token", `/api/v1/alerts/${alert.id}/ack`, {
      method: "POST",
    });
    assert.deepEqual([ack.status, await ack.json()], [403, {
      error: 'API token "t-wrong" may not see site "BFI4"',
    }]);
    assert.equal((await f.store.alerts.get(alert.id))?.acknowledgedBy, null);
    const restart = await f.request(
      "wrong",
      "token",
      `/api/v1/agents/${SITE}/${HOST}/scripts/rates/restart`,
      { method: "POST" },
    );
    assert.equal(restart.status, 403);
    assert.deepEqual(await f.store.commands.pending(SITE, HOST, f.now()), []);
  });
});

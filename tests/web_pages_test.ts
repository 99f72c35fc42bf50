/**
 * The script, log, alerts, notifications and export pages through
 * `app.request()`: what a user sees, escaping of agent text, role checks
 * for acknowledge and silence, site scoping, and the pages' static files.
 */
import assert from "node:assert/strict";
import { script } from "../collector/_testing.ts";
import { withWeb } from "./_web.ts";

const HOSTILE = "<img src=x onerror=alert(1)>";
const ESCAPED = "&lt;img src=x onerror=alert(1)&gt;";

function noHostileMarkup(html: string): void {
  assert.ok(!html.includes(HOSTILE), "agent text must not appear as markup");
  assert.ok(!/<img/i.test(html), "no <img> element from agent text");
}

Deno.test("the script page shows state, uptime, timeline, charts data, checks and events, agent text escaped", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const now = f.clock.now();
    const at = (ago: number) => new Date(now - ago).toISOString();
    await f.ingest({
      host: "ws-01",
      scripts: [
        script("rates", {
          state: "running",
          reason: `reason ${HOSTILE}`,
          checks: [{ name: `check ${HOSTILE}`, status: "failing", reason: `because ${HOSTILE}` }],
        }),
      ],
      events: [
        {
          seq: 1,
          at: at(3_600_000),
          kind: "state",
          script: "rates",
          data: { from: "starting", state: "running" },
        },
        {
          seq: 2,
          at: at(1_800_000),
          kind: "state",
          script: "rates",
          data: { from: "running", state: "backoff", reason: HOSTILE },
        },
        {
          seq: 3,
          at: at(1_700_000),
          kind: "state",
          script: "rates",
          data: { from: "backoff", state: "running", pid: 20724 },
        },
        { seq: 4, at: at(1_000), kind: "state", script: "other", data: { state: "running" } },
      ],
    });
    const vera = await f.signIn("vera");
    const res = await vera.request("/scripts/BFI4/ws-01/rates");
    assert.equal(res.status, 200);
    const html = await res.text();
    noHostileMarkup(html);
    assert.ok(html.includes(`check ${ESCAPED}`) && html.includes(`because ${ESCAPED}`));
    assert.ok(html.includes(`reason ${ESCAPED}`));
    assert.match(html, /<h1>rates<\/h1>/);
    assert.match(html, /id="uptime-24h">\d+\.\d\d %</);
    assert.match(html, /class="seg-up"/);
    assert.match(html, /class="seg-down"/);
    assert.match(html, /running → backoff: &lt;img/);
    // Events read as sentences, never as JSON.
    assert.match(html, /<td>backoff → running, pid 20724<\/td>/);
    assert.doesNotMatch(html, /\{&quot;pid&quot;|\{"pid"/);
    assert.ok(!html.includes("other"), "only this script's events");
    // One sample so far: said in words, not drawn as a lone dot; the next one makes a chart.
    assert.match(html, /<p class="empty" id="chart-rss">One sample so far/);
    assert.ok(!html.includes('id="incident"'), "a running script is in no incident");
    assert.match(html, /<script [^>]*src="\/static\/uplot.js" defer><\/script>/);
    assert.match(html, /href="\/scripts\/BFI4\/ws-01\/rates\/log"/);
    assert.ok(!html.includes('class="ctl"'), "a viewer sees no control buttons");
    f.clock.set(now + 5 * 60_000);
    await f.ingest({ host: "ws-01", scripts: [script("rates")] });
    const later = await (await vera.request("/scripts/BFI4/ws-01/rates")).text();
    assert.match(later, /id="chart-rss"[^>]*data-points="\[\[\d+,\d+\],\[9\.5,9\.5\]\]"/);
  }));

Deno.test("a script down now shows its incident: since when, restarts since, its last exit", () =>
  withWeb(async (f) => {
    await f.addUser("otto", "operator");
    const now = f.clock.now();
    const at = (ago: number) => new Date(now - ago).toISOString();
    const change = (seq: number, ago: number, state: string, from: string) => ({
      seq,
      at: at(ago),
      kind: "state",
      script: "rates",
      data: { state, from },
    });
    await f.ingest({
      host: "ws-01",
      scripts: [script("rates", {
        state: "crash-looping",
        pid: null,
        lastExit: { at: at(5_000), code: 3, signal: null },
      })],
      events: [
        change(1, 3_600_000, "running", "starting"),
        change(2, 600_000, "backoff", "running"), // the first failure: 10 min ago
        change(3, 590_000, "starting", "backoff"),
        change(4, 589_000, "running", "starting"),
        change(5, 300_000, "crash-looping", "running"),
        change(6, 290_000, "starting", "crash-looping"),
        change(7, 289_000, "running", "starting"),
        change(8, 5_000, "crash-looping", "running"),
      ],
    });
    const html = await (await (await f.signIn("otto")).request("/scripts/BFI4/ws-01/rates")).text();
    const incident = html.slice(html.indexOf('id="incident"'));
    assert.match(
      incident,
      new RegExp(
        `Down since <time datetime="${
          at(600_000)
        }">[^<]+</time> · 10m ago, 2 restarts since; it last exited with code 3\\.`,
      ),
    );
    // Only what the state allows: it is not running, but restarting or stopping it makes sense.
    const buttons = [...html.matchAll(/data-a="(\w+)"/g)].map((m) => m[1]);
    assert.deepEqual(buttons, ["restart", "stop"]);
  }));

Deno.test("the script page shows control buttons to an operator; unknown scripts and other sites are 404 or refused", () =>
  withWeb(async (f) => {
    await f.addUser("otto", "operator");
    await f.addUser("sally", "viewer", ["DEN1"]);
    await f.ingest({ host: "ws-01", scripts: [script("rates")] });
    const otto = await f.signIn("otto");
    assert.match(await (await otto.request("/scripts/BFI4/ws-01/rates")).text(), /class="ctl"/);
    const missing = await otto.request("/scripts/BFI4/ws-01/nope");
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error, /No script "nope" on BFI4\/ws-01/);
    assert.equal((await otto.request("/scripts/BFI4/ws-01/nope/log")).status, 404);
    const sally = await f.signIn("sally");
    for (const path of ["/scripts/BFI4/ws-01/rates", "/scripts/BFI4/ws-01/rates/log"]) {
      const res = await sally.request(path);
      await res.body?.cancel();
      assert.ok(res.status === 403 || res.status === 404, `${path}: ${res.status}`);
    }
  }));

Deno.test("the log page is a shell that reads the logs API; a viewer may open it", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.ingest({ host: "ws-01", scripts: [script("rates")] });
    const vera = await f.signIn("vera");
    const res = await vera.request("/scripts/BFI4/ws-01/rates/log");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /data-src="\/api\/v1\/agents\/BFI4\/ws-01\/scripts\/rates\/logs"/);
    assert.match(html, /<script [^>]*src="\/static\/log_page.js" defer>/);
    assert.match(html, /id="logsearch"/);
    // The agent (a test ingest, not a real agent) never said it serves logs: a clear 409.
    const logs = await vera.request("/api/v1/agents/BFI4/ws-01/scripts/rates/logs");
    assert.equal(logs.status, 409);
    assert.match((await logs.json()).error, /has not said that it answers log requests/);
  }));

Deno.test("the pages' static files are served by the collector with their types", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const vera = await f.signIn("vera");
    for (
      const [name, type, text] of [
        ["uplot.js", "text/javascript", "uPlot"],
        ["uplot.css", "text/css", ".uplot"],
        ["log_page.js", "text/javascript", "logview"],
        ["script_page.js", "text/javascript", "uPlot"],
        ["alerts_page.js", "text/javascript", "X-CSRF-Token"],
        ["pages.css", "text/css", ".timeline"],
      ]
    ) {
      const res = await vera.request(`/static/${name}`);
      assert.equal(res.status, 200, name);
      assert.ok(res.headers.get("content-type")!.startsWith(type), name);
      assert.ok((await res.text()).includes(text), name);
    }
    const app = await vera.request("/static/app.js");
    assert.equal(app.status, 200, "the core's files still served");
    await app.body?.cancel();
    for (const name of ["nope.js", "constructor", "__proto__"]) {
      const none = await vera.request(`/static/${name}`);
      assert.equal(none.status, 404, name);
      await none.body?.cancel();
    }
  }));

Deno.test("every route of the collector fits Hono's RegExpRouter, the one that matches fastest", () =>
  withWeb(async (f) => {
    // SmartRouter picks RegExpRouter unless a route is more than it takes (a param with a
    // pattern beside a plain one on one path, a capture group in a pattern): then TrieRouter.
    await (await f.app.request("/healthz")).body?.cancel();
    assert.equal(
      (f.app.router as { activeRouter?: { name: string } }).activeRouter?.name,
      "RegExpRouter",
    );
  }));

Deno.test("the alerts page lists firing and resolved alerts; operators acknowledge, viewers cannot", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.addUser("otto", "operator");
    await f.ingest({ host: "ws-01", scripts: [script("rates")] });
    const now = new Date(f.clock.now()).toISOString();
    const firing = await f.store.alerts.open({
      rule: "script-down",
      key: "script-down|BFI4|ws-01|rates|",
      severity: "critical",
      site: "BFI4",
      host: "ws-01",
      script: "rates",
      check: null,
      title: `rates is down ${HOSTILE}`,
      firedAt: now,
    });
    const vera = await f.signIn("vera");
    const page = await (await vera.request("/alerts")).text();
    noHostileMarkup(page);
    assert.ok(page.includes(`rates is down ${ESCAPED}`));
    assert.ok(!page.includes('data-do="ack"'), "a viewer sees no acknowledge button");
    const refused = await vera.post(`/api/v1/alerts/${firing.id}/ack`);
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
    const refusedSilence = await vera.post("/api/v1/silences", {
      body: JSON.stringify({ match: { site: "BFI4" }, for: "1h" }),
    });
    assert.equal(refusedSilence.status, 403);
    await refusedSilence.body?.cancel();

    const otto = await f.signIn("otto");
    assert.match(await (await otto.request("/alerts")).text(), /data-do="ack"/);
    const acked = await otto.post(`/api/v1/alerts/${firing.id}/ack`);
    assert.equal(acked.status, 200);
    await acked.body?.cancel();
    const after = await (await otto.request("/alerts?state=firing")).text();
    assert.match(after, /user:otto/);
    assert.ok(!after.includes('data-do="ack"'), "acknowledged: no button any more");
    const resolved = await (await otto.request("/alerts?state=resolved")).text();
    assert.match(resolved, /No alerts\./);
  }));

Deno.test("the alerts page shows an alert once with its episodes: fired, resolved, how long", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const t0 = f.clock.now() - 3_600_000;
    const iso = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
    const loop = {
      rule: "crash-looping",
      key: "crash-looping|BFI4|ws-01|rates|",
      severity: "critical" as const,
      site: "BFI4",
      host: "ws-01",
      script: "rates",
      check: null,
      title: "rates is crash-looping on ws-01",
    };
    await f.store.alerts.open({ ...loop, firedAt: iso(0) });
    await f.store.alerts.resolve(loop.key, iso(4));
    await f.store.alerts.open({ ...loop, firedAt: iso(30) });
    await f.store.alerts.resolve(loop.key, iso(37));
    await f.store.alerts.open({ ...loop, firedAt: iso(50) });
    await f.store.alerts.open({
      ...loop,
      rule: "token-expiring",
      key: "token-expiring|BFI4|ws-01||",
      script: null,
      severity: "warning",
      title: "token demo is expiring on ws-01",
      firedAt: iso(55),
    });
    const html = await (await (await f.signIn("vera")).request("/alerts")).text();
    const rows = [...html.matchAll(/<tr [^>]*data-alert="[^"]+" data-title="([^"]+)"/g)].map((m) =>
      m[1]
    );
    // Once each, firing first, the newest first among them.
    assert.deepEqual(rows, ["token demo is expiring on ws-01", "rates is crash-looping on ws-01"]);
    const loopRow = html.slice(html.indexOf('data-title="rates is crash-looping'));
    assert.match(loopRow, /<strong class="badge bad">firing<\/strong> for 10m/);
    assert.match(loopRow, /3 episodes, the last from <time datetime="[^"]+">/);
    const lasted = [
      ...loopRow.slice(0, loopRow.indexOf("</details>")).matchAll(/<td>(\d+m)<\/td>/g),
    ]
      .map((m) => m[1]);
    assert.deepEqual(lasted, ["10m", "7m", "4m"]);
  }));

Deno.test("the notifications and export pages render for a viewer; a bad filter is a 400", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.ingest({ host: "ws-01", scripts: [script("rates")] });
    const vera = await f.signIn("vera");
    const notes = await vera.request("/notifications?state=sent&since=2026-12-01T10:00");
    assert.equal(notes.status, 200);
    assert.match(await notes.text(), /<h1>Notifications<\/h1>/);
    const bad = await vera.request("/notifications?since=yesterday");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /since: expected a time like/);
    const badState = await vera.request("/notifications?state=lost");
    assert.equal(badState.status, 400);
    await badState.body?.cancel();
    const exp = await (await vera.request("/export")).text();
    assert.match(exp, /action="\/api\/v1\/events"/);
    assert.match(exp, /action="\/api\/v1\/reports\/uptime"/);
    assert.match(exp, /<option [^>]*value="BFI4">BFI4<\/option>/);
  }));

Deno.test("events download as an Excel workbook with a filename, one row per event", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.ingest({
      host: "ws-01",
      scripts: [script("rates")],
      events: [{
        seq: 1,
        at: new Date(f.clock.now()).toISOString(),
        kind: "state",
        script: "rates",
        data: { state: HOSTILE },
      }],
    });
    const vera = await f.signIn("vera");
    const res = await vera.request("/api/v1/events?format=xlsx");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-disposition"), 'attachment; filename="events.xlsx"');
    assert.equal(
      res.headers.get("content-type"),
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    );
    const dir = await Deno.makeTempDir({ prefix: "scriptmon_export_" });
    try {
      await Deno.writeFile(`${dir}/events.xlsx`, new Uint8Array(await res.arrayBuffer()));
      const out = await new Deno.Command("unzip", {
        args: ["-p", `${dir}/events.xlsx`, "xl/worksheets/sheet1.xml"],
        stdout: "piped",
      }).output();
      assert.equal(out.code, 0);
      const sheet = new TextDecoder().decode(out.stdout);
      assert.equal(sheet.match(/<row /g)?.length, 2, "a header and one event");
      assert.match(sheet, /<c r="D2"><v>1<\/v><\/c>/, "seq as a number");
      assert.ok(sheet.includes("&lt;img src=x onerror=alert(1)&gt;"), "agent text escaped as XML");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));

Deno.test("the uptime report downloads as an Excel workbook, one row per script", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.ingest({ host: "ws-01", scripts: [script("rates")] });
    const vera = await f.signIn("vera");
    const res = await vera.request("/api/v1/reports/uptime?format=xlsx");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-disposition"), 'attachment; filename="uptime.xlsx"');
    const dir = await Deno.makeTempDir({ prefix: "scriptmon_export_" });
    try {
      await Deno.writeFile(`${dir}/uptime.xlsx`, new Uint8Array(await res.arrayBuffer()));
      const out = await new Deno.Command("unzip", {
        args: ["-p", `${dir}/uptime.xlsx`, "xl/worksheets/sheet1.xml"],
        stdout: "piped",
      }).output();
      const sheet = new TextDecoder().decode(out.stdout);
      assert.ok(sheet.includes(">uptimePercent<"), "the header row");
      assert.ok(sheet.includes(">rates<"), "one row per script");
      assert.equal(sheet.match(/<row /g)?.length, 2, "a header and one script");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));

/** `BFI4/ws-01`: `rates` down 10 minutes yesterday (an incident), `steady` up throughout. */
async function seedReport(f: Parameters<Parameters<typeof withWeb>[0]>[0]): Promise<void> {
  f.clock.set(Date.parse("2026-12-05T15:00:00Z"));
  const change = (seq: number, script: string, at: string, state: string, from: string) => ({
    seq,
    at: `2026-12-04T${at}:00.000Z`,
    kind: "state",
    script,
    data: { state, from },
  });
  await f.ingest({
    host: "ws-01",
    scripts: [script("rates"), script("steady")],
    events: [
      change(1, "rates", "00:00", "running", "starting"),
      change(2, "steady", "00:00", "running", "starting"),
      change(3, "rates", "12:00", "backoff", "running"),
      change(4, "rates", "12:10", "running", "backoff"),
    ],
  });
  const down = {
    rule: "script-down",
    key: "script-down|BFI4|ws-01|rates|",
    severity: "critical" as const,
    site: "BFI4",
    host: "ws-01",
    script: "rates",
    check: null,
    title: `rates is down on ws-01 ${HOSTILE}`,
  };
  await f.store.alerts.open({ ...down, firedAt: "2026-12-04T12:00:00.000Z" });
  await f.store.alerts.resolve(down.key, "2026-12-04T12:10:00.000Z");
  await f.store.alerts.open({
    ...down,
    rule: "crash-looping",
    key: "crash-looping|BFI4|ws-01|steady|",
    script: "steady",
    title: "steady is crash-looping on ws-01",
    firedAt: "2026-12-05T14:00:00.000Z",
  });
}

Deno.test("the reports page shows a site's day: uptime bars worst first, the incident and how long it lasted, downloads of that day", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await seedReport(f);
    const vera = await f.signIn("vera");
    const res = await vera.request("/reports?site=BFI4&from=2026-12-04&to=2026-12-04");
    assert.equal(res.status, 200);
    const html = await res.text();
    noHostileMarkup(html);
    assert.match(html, /<a href="\/reports"[^>]*aria-current="page">Reports<\/a>/);
    assert.match(html, /<a [^>]*aria-current="page"[^>]*>Yesterday<\/a>/);
    // The bars: the script that was down first, with its down part drawn.
    const bars = html.slice(
      html.indexOf('id="uptime-bars"'),
      html.indexOf("</table>", html.indexOf('id="uptime-bars"')),
    );
    assert.deepEqual([...bars.matchAll(/data-script="(\w+)"/g)].map((m) => m[1]), [
      "rates",
      "steady",
    ]);
    assert.match(bars, /aria-label="99\.30 % up"/);
    assert.match(bars, /class="u-down"/);
    // The incident: its title escaped, resolved, lasted 10 minutes; yesterday shows no open one.
    const incidents = html.slice(html.indexOf('id="incidents"'));
    assert.ok(incidents.includes(`rates is down on ws-01 ${ESCAPED}`));
    assert.match(incidents, /<td class="num">10m<\/td>/);
    assert.ok(!html.includes('class="badge bad">still open'));
    // Downloads of the same site and day.
    const period =
      "site=BFI4&amp;since=2026-12-04T00%3A00%3A00.000Z&amp;until=2026-12-05T00%3A00%3A00.000Z";
    assert.ok(html.includes(`href="/api/v1/reports/uptime?format=csv&amp;${period}"`));
    assert.ok(html.includes(`href="/api/v1/reports/uptime?format=xlsx&amp;${period}"`));
    assert.ok(html.includes(`href="/api/v1/reports/digest?${period}"`));
    const csv = await vera.request(
      `/api/v1/reports/uptime?format=csv&${period.replaceAll("&amp;", "&")}`,
    );
    assert.equal(csv.status, 200);
    assert.match(await csv.text(), /^BFI4,ws-01,rates,99\.306,/m);

    // Up to now: the crash loop of today is still open, an hour so far.
    const today = await (await vera.request("/reports?site=BFI4&from=2026-12-04&to=2026-12-05"))
      .text();
    assert.match(today, /up to 15:00 UTC/);
    const open = today.slice(today.indexOf("steady is crash-looping"));
    assert.match(
      open,
      /^[^]*?<strong class="badge bad">still open<\/strong><\/td><td class="num">1h<\/td>/,
    );
  }));

Deno.test("the reports page of a user of some sites reports on theirs only; another site is refused", () =>
  withWeb(async (f) => {
    await f.addUser("sally", "viewer", ["DEN1"]);
    await f.addUser("sam", "viewer", ["SEA8", "DEN1"]);
    await seedReport(f);
    await f.ingest({ site: "DEN1", host: "ws-9", scripts: [script("labels")] });
    const sally = await f.signIn("sally");
    const own = await (await sally.request("/reports")).text();
    assert.ok(!own.includes("BFI4"), "nothing of BFI4");
    assert.ok(!own.includes("All sites"), "no fleet report for a user of one site");
    assert.match(own, /data-script="labels"/);
    const refused = await sally.request("/reports?site=BFI4");
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).error, /User "sally" may not see site "BFI4"/);
    // Several sites but not all: one at a time, their first unless they pick another.
    const sam = await (await (await f.signIn("sam")).request("/reports")).text();
    assert.ok(!sam.includes("All sites"));
    assert.match(
      sam,
      /<option [^>]*value="SEA8" selected>SEA8<\/option><option [^>]*value="DEN1"\s*>/,
    );
  }));

Deno.test("the reports page says what is wrong with a period, with a 400 and the form to put it right", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await seedReport(f);
    const vera = await f.signIn("vera");
    for (
      const [query, message] of [
        ["from=2026-12-04&to=2026-12-01", /to: expected a day on or after from \(2026-12-04\)/],
        ["from=yesterday&to=2026-12-01", /from: expected a day like &quot;2026-12-01&quot;/],
        ["from=2026-12-04&to=2027-01-01", /to: expected a day up to today \(2026-12-05, UTC\)/],
      ] as const
    ) {
      const res = await vera.request(`/reports?${query}`, { headers: { accept: "text/html" } });
      assert.equal(res.status, 400, query);
      const html = await res.text();
      assert.match(html, new RegExp(`<p class="error" role="alert">${message.source}`), query);
      assert.match(html, /id="report-form"/, query);
      assert.ok(!html.includes('id="uptime-bars"'), query);
    }
  }));

Deno.test("the reports page draws at most 30 bars, the worst, and counts the rest", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const names = Array.from({ length: 33 }, (_, i) => `job_${String(i).padStart(2, "0")}`);
    await f.ingest({ host: "ws-01", scripts: names.map((name) => script(name)) });
    const html = await (await (await f.signIn("vera")).request("/reports")).text();
    assert.equal(html.match(/<tr data-script=/g)?.length, 30);
    assert.match(html, /id="more-scripts">and 3 more scripts \(all of them in the downloads\)</);
  }));

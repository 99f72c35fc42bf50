/**
 * The fleet page and its live stream through `app.request()`: what a user
 * sees (their sites only, problems first, counts, filters), escaping of
 * agent text, the security headers, and the SSE changes.
 */
import assert from "node:assert/strict";
import { script } from "../collector/_testing.ts";
import { CONTENT_SECURITY_POLICY } from "../collector/web/mod.ts";
import { safeNext } from "../collector/web/mod.ts";
import { withWeb } from "./_web.ts";

const HOSTILE = "<img src=x onerror=alert(1)>";

/** Reads SSE events from `res` until `stop` returns true or `timeoutMs` passes. */
async function readEvents(
  res: Response,
  stop: (events: { event: string; data: string }[]) => boolean,
  timeoutMs = 5000,
): Promise<{ event: string; data: string }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: string }[] = [];
  let buffer = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (!stop(events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; events so far: ${JSON.stringify(events)}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("no event in time")), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) break;
      buffer += chunk.value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined) events.push({ event, data: data ?? "" });
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

Deno.test("the fleet page shows sites with counts, workstations and tiles, problems first", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.ingest({
      host: "ws-01",
      scripts: [
        script("alpha"),
        script("broken", { state: "crash-looping", health: "unhealthy", restarts: 7 }),
        script("zeta", { state: "stopped", enabled: true }),
      ],
    });
    await f.ingest({ site: "SEA8", host: "ws-09", scripts: [script("rates")] });
    const html = await (await (await f.signIn("vera")).request("/")).text();
    // BFI4 has problems, so it comes before SEA8; in it, the crash loop first.
    assert.ok(html.indexOf('data-site="BFI4"') < html.indexOf('data-site="SEA8"'));
    const tiles = [...html.matchAll(/data-k="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(tiles, [
      "BFI4/ws-01/broken",
      "BFI4/ws-01/zeta",
      "BFI4/ws-01/alpha",
      "SEA8/ws-09/rates",
    ]);
    assert.match(
      html,
      /<a href="\/scripts\/BFI4\/ws-01\/broken">broken<\/a><\/span><span class="st">crash-looping · unhealthy<\/span><span class="f">↻7 · 10 MB<\/span>/,
    );
    const counts = (site: string) =>
      Object.fromEntries(
        [
          ...html.slice(html.indexOf(`<li data-site="${site}">`)).matchAll(
            /data-c="(\w+)">(\d+)</g,
          ),
        ].slice(0, 6).map((m) => [m[1], Number(m[2])]),
      );
    assert.deepEqual(counts("BFI4"), {
      running: 1,
      unhealthy: 1,
      crashLooping: 1,
      down: 1,
      agentsOffline: 0,
      agents: 1,
    });
  }));

Deno.test("tiles offer only the commands their state allows, fold disabled scripts away, keep zeros quiet", () =>
  withWeb(async (f) => {
    await f.addUser("opal", "operator");
    await f.addUser("vera", "viewer");
    await f.ingest({
      scripts: [
        script("alpha"),
        script("looping", { state: "crash-looping" }),
        script("parked", { state: "stopped", enabled: true }),
        script("old_report", { state: "stopped", enabled: false }),
        // An agent's odd numbers do not break the page.
        script("odd", { uptimeMs: -72_667 }),
        script("paused", {
          state: "stopped",
          enabled: true,
          reason: "stopped by a remote command from user:opal",
        }),
      ],
    });
    const html = await (await (await f.signIn("opal")).request("/")).text();
    const buttons = (name: string) => {
      const tile = html.slice(html.indexOf(`data-k="BFI4/ws-01/${name}"`));
      const end = tile.indexOf('<div class="t ', 10);
      return [...tile.slice(0, end < 0 ? undefined : end).matchAll(/data-a="(\w+)"/g)].map((m) =>
        m[1]
      );
    };
    assert.deepEqual(buttons("alpha"), ["restart", "stop"]);
    assert.deepEqual(buttons("looping"), ["restart", "stop"]);
    assert.deepEqual(buttons("parked"), ["start"]);
    // The disabled script is folded under its workstation, behind a summary naming it.
    const fold = html.indexOf(
      '<details class="fold"><summary>2 off: old_report (disabled), paused (stopped)</summary>',
    );
    assert.ok(fold > 0, "a fold for the scripts off on purpose");
    assert.ok(html.indexOf('data-k="BFI4/ws-01/paused"') > fold);
    // Stopped by a person is off, not down: "parked" (stopped, no one said so) is the one down.
    assert.match(html, /<span class="bad" data-c="down">1<\/span>/);
    assert.ok(html.indexOf('data-k="BFI4/ws-01/old_report"') > fold);
    assert.ok(html.indexOf('data-k="BFI4/ws-01/alpha"') < fold);
    // The summary is shown once (site cards), its zeros quiet, its problems coloured.
    assert.equal(html.match(/class="counts"/g)?.length, 1);
    assert.match(html, /<span class="bad" data-c="crashLooping">1<\/span>/);
    assert.match(html, /<span class="zero" data-c="unhealthy">0<\/span>/);
    // A viewer gets no buttons at all.
    const viewer = await (await (await f.signIn("vera")).request("/")).text();
    assert.doesNotMatch(viewer, /data-a="/);
  }));

Deno.test("a tile shows its last 24 hours: uptime over the time known, restarts, an hourly strip", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const t0 = Date.parse("2026-05-01T08:00:00Z");
    const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
    const change = (seq: number, minutes: number, state: string, from: string | null) => ({
      seq,
      at: at(minutes),
      kind: "state",
      script: "rates",
      data: { state, from },
    });
    f.clock.set(t0 + 4 * 3_600_000);
    await f.ingest({
      scripts: [script("rates")],
      events: [
        change(1, 0, "running", "starting"),
        change(2, 120, "crash-looping", "running"),
        change(3, 130, "starting", "crash-looping"),
        change(4, 130, "running", "starting"),
      ],
    });
    await f.uptime.refresh();
    const html = await (await (await f.signIn("vera")).request("/")).text();
    const tile = html.slice(html.indexOf('data-k="BFI4/ws-01/rates"'));
    // Known for 4 h: up 3 h 50 min, down 10 min. The 20 hours before are unknown, not down.
    assert.match(tile, /<span class="pc"[^>]*>95\.8 %<\/span>/);
    assert.match(tile, /1 restart in 24 h/);
    assert.match(
      tile,
      /<span class="strip"[^>]*><b class="n w20"><\/b><b class="u w2"><\/b><b class="d w1"><\/b><b class="u w1"><\/b><\/span>/,
    );
  }));

Deno.test("filters by query: other tiles are hidden, and a bad state is a 400", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.ingest({ scripts: [script("alpha"), script("broken", { state: "failed" })] });
    await f.ingest({ site: "SEA8", host: "ws-09", scripts: [script("rates")] });
    const vera = await f.signIn("vera");
    const html = await (await vera.request("/?state=problems&q=BRO")).text();
    assert.match(
      html,
      /data-k="BFI4\/ws-01\/broken" data-st="failed" data-h="healthy" data-d="1" ?>/,
    );
    assert.match(
      html,
      /data-k="BFI4\/ws-01\/alpha" data-st="running" data-h="healthy" +hidden="">/,
    );
    assert.match(
      html,
      /<section class="ws" data-ws="SEA8\/ws-09" data-on="1" data-n="[\d ]+" hidden="">/,
    );
    const bySite = await (await vera.request("/?site=SEA8")).text();
    assert.match(bySite, /<section class="site" data-site="BFI4" hidden="">/);
    assert.match(bySite, /<option value="SEA8" selected>SEA8<\/option>/);
    const bad = await vera.request("/?state=sideways");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^state: expected one of "", "problems"/);
    const page = await vera.request("/?state=sideways", { headers: { accept: "text/html" } });
    assert.equal(page.status, 400);
    assert.match(
      await page.text(),
      /<p class="error" role="alert">state: expected one of &quot;&quot;, &quot;problems&quot;/,
    );
  }));

Deno.test("a user scoped to a site sees only that site's agents on the page", () =>
  withWeb(async (f) => {
    await f.addUser("sam", "operator", ["SEA8"]);
    await f.ingest({ host: "ws-01", scripts: [script("bfi_only")] });
    await f.ingest({ site: "SEA8", host: "ws-09", scripts: [script("sea_only")] });
    const html = await (await (await f.signIn("sam")).request("/")).text();
    assert.ok(html.includes("sea_only"));
    assert.ok(!html.includes("BFI4"), "nothing of BFI4 on the page");
    assert.ok(!html.includes("bfi_only"));
  }));

Deno.test("text agents send is escaped on the page: no markup of theirs gets through", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const response = await f.ingest({
      scripts: [script("evil", {
        state: "failed",
        reason: HOSTILE,
        checks: [{ name: HOSTILE, status: "failing", reason: `"><script>alert(2)</script>` }],
      })],
    });
    assert.equal(response.status, 200, await response.text());
    const html = await (await (await f.signIn("vera")).request("/")).text();
    assert.ok(!html.includes("<img src=x"), "no raw img tag");
    assert.ok(!html.includes("<script>alert"), "no raw script tag");
    assert.ok(
      html.includes("&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"),
      "the reason shown as text",
    );
  }));

Deno.test("every page carries the strict CSP and the other security headers", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const vera = await f.signIn("vera");
    for (const res of [await f.app.request("/login"), await vera.request("/")]) {
      assert.equal(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      const html = await res.text();
      assert.ok(!/<script(?![^>]*\bsrc=)/.test(html), "no inline script");
      assert.ok(!/<style|\sstyle=/.test(html), "no inline style");
    }
    const css = await f.app.request("/static/app.css");
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.match(await css.text(), /prefers-color-scheme: dark/);
    assert.equal((await vera.request("/static/../routes.ts")).status, 404);
  }));

Deno.test("the live stream sends a workstation when a heartbeat changes a tile, not when it repeats", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.ingest({ scripts: [script("rates")] });
    const vera = await f.signIn("vera");
    const stream = await vera.request("/live/fleet");
    assert.equal(stream.headers.get("content-type"), "text/event-stream");
    const reading = readEvents(stream, (events) => events.some((e) => e.event === "ws"));
    await f.ingest({ scripts: [script("rates")] }); // the same: nothing to send
    await f.ingest({ scripts: [script("rates", { state: "backoff", pid: null, restarts: 1 })] });
    const events = await reading;
    assert.equal(events[0].event, "hello");
    const changes = events.filter((e) => e.event === "ws").map((e) => JSON.parse(e.data));
    assert.equal(changes.length, 1);
    assert.equal(changes[0].key, "BFI4/ws-01");
    assert.match(changes[0].html, /data-k="BFI4\/ws-01\/rates" data-st="backoff"/);
    assert.ok(!changes[0].html.includes("data-a="), "a viewer's stream has no buttons");
  }));

Deno.test("the live stream carries only the user's sites", () =>
  withWeb(async (f) => {
    await f.addUser("sam", "operator", ["SEA8"]);
    const sam = await f.signIn("sam");
    const stream = await sam.request("/live/fleet");
    const reading = readEvents(stream, (events) => events.some((e) => e.event === "ws"));
    await f.ingest({ host: "ws-01", scripts: [script("bfi_only")] });
    await f.ingest({ site: "SEA8", host: "ws-09", scripts: [script("sea_only")] });
    const changes = (await reading).filter((e) => e.event === "ws").map((e) => JSON.parse(e.data));
    assert.deepEqual(changes.map((c) => c.key), ["SEA8/ws-09"]);
    assert.match(changes[0].html, /data-a="restart"/, "an operator's stream has the buttons");
  }));

Deno.test("a quiet live stream sends keep-alive comments", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const stream = await (await f.signIn("vera")).request("/live/fleet");
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (let i = 0; i < 100 && !text.includes(": keep-alive\n\n"); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    assert.match(text, /^event: hello\ndata: \{"user":"vera"\}\n\n(: keep-alive\n\n)+$/);
  }));

Deno.test("the live stream ends with signedout once the session is revoked", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const vera = await f.signIn("vera");
    const stream = await vera.request("/live/fleet");
    const reading = readEvents(stream, (events) => events.some((e) => e.event === "signedout"));
    await f.sessions.revokeUser("vera");
    const events = await reading;
    assert.deepEqual(events.map((e) => e.event), ["hello", "signedout"]);
  }));

Deno.test("live clients are bounded: one more is told to retry (503) and a closed one frees its place", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const vera = await f.signIn("vera");
    const streams = [];
    for (let i = 0; i < f.live.maxClients; i++) streams.push(await vera.request("/live/fleet"));
    const refused = await vera.request("/live/fleet");
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "10");
    await refused.body?.cancel();
    await streams[0].body!.cancel();
    // The stream notices the cancel at its next write (a keep-alive within 50 ms here).
    const deadline = Date.now() + 5000;
    while (f.live.clients >= f.live.maxClients && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(f.live.clients, f.live.maxClients - 1);
    for (const s of streams.slice(1)) await s.body!.cancel();
  }));

Deno.test("without a session the live stream is 401, not a redirect", () =>
  withWeb(async (f) => {
    const res = await f.app.request("/live/fleet");
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }));

Deno.test("a busy live stream also ends once the session is revoked", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    const vera = await f.signIn("vera");
    const stream = await vera.request("/live/fleet");
    const reading = readEvents(stream, (events) => events.some((e) => e.event === "signedout"));
    await f.sessions.revokeUser("vera");
    // Heartbeats keep arriving faster than the keep-alive: the stream is never quiet.
    let done = false;
    reading.finally(() => done = true);
    for (let i = 0; i < 200 && !done; i++) {
      (await f.ingest({ host: "ws-01", scripts: [script(`s${i}`)] })).body?.cancel();
      await new Promise((r) => setTimeout(r, 10));
    }
    const events = await reading;
    assert.equal(events.at(-1)?.event, "signedout");
  }));

Deno.test("sign-in sends people back only to a page of this collector", () => {
  assert.equal(safeNext("/scripts/BFI4/ws-01/rates?x=1"), "/scripts/BFI4/ws-01/rates?x=1");
  for (
    const evil of ["//evil.example/", "/\\evil.example", "/\t/evil.example/", "https://x", "/\n"]
  ) {
    assert.equal(safeNext(evil), "/", JSON.stringify(evil));
  }
});

Deno.test("one user cannot take every live slot: past their own limit they are told to close one", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    await f.addUser("olga", "operator");
    const vera = await f.signIn("vera");
    const mine = [await vera.request("/live/fleet"), await vera.request("/live/fleet")];
    const third = await vera.request("/live/fleet");
    assert.equal(third.status, 429);
    assert.match((await third.json()).error, /vera has 2 live pages open already \(at most 2\)/);
    const other = await (await f.signIn("olga")).request("/live/fleet");
    assert.equal(other.status, 200, "another user still gets one");
    for (const stream of [...mine, other]) await stream.body!.cancel();
  }, { maxStreamsPerUser: 2 }));

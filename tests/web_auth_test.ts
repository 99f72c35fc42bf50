/**
 * Signing in to the collector's pages and what a session may do, through
 * `app.request()`: cookies, expiry, revocation, CSRF and roles.
 */
import assert from "node:assert/strict";
import { SIGN_IN_FAILED } from "../collector/web/mod.ts";
import { script } from "../collector/_testing.ts";
import { ORIGIN, withWeb } from "./_web.ts";

const RESTART = "/api/v1/agents/BFI4/ws-01/scripts/rates/restart";

async function errorOf(response: Response, status: number): Promise<string> {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  return body.error;
}

Deno.test("signing in sets an HttpOnly, SameSite=Strict session cookie and goes to the page asked for", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "viewer");
    const res = await f.app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ username: "alice", password: "pw-alice", next: "/?site=BFI4" }),
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/?site=BFI4");
    const cookie = res.headers.get("set-cookie") ?? "";
    assert.match(
      cookie,
      /^scriptmon_session=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    const page = await f.app.request("/", { headers: { cookie: cookie.split(";")[0] } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<span class="who">alice <small>viewer<\/small>/);
  }));

Deno.test("the session cookie is Secure when the collector serves HTTPS", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "viewer");
    const res = await f.app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ username: "alice", password: "pw-alice" }),
    });
    assert.match(res.headers.get("set-cookie") ?? "", /; Secure; SameSite=Strict$/);
  }, { config: `[collector]\ntls_cert = "/tmp/cert.pem"\ntls_key = "/tmp/key.pem"\n` }));

Deno.test("a wrong password and an unknown user get the same 401 page and no cookie", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "admin");
    for (const [username, password] of [["alice", "wrong"], ["mallory", "pw-alice"]]) {
      const res = await f.app.request("/login", {
        method: "POST",
        body: new URLSearchParams({ username, password, next: "//evil.example/" }),
      });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("set-cookie"), null);
      const html = await res.text();
      assert.ok(html.includes(`<p class="error" role="alert">${SIGN_IN_FAILED}</p>`), html);
      assert.ok(html.includes('name="next" value="/"'), "a foreign next is dropped");
    }
  }));

Deno.test("signing in refuses a cross-site form post and a body that is not a form", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "admin");
    const form = new URLSearchParams({ username: "alice", password: "pw-alice" });
    const cross = await f.app.request("/login", {
      method: "POST",
      headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      body: form,
    });
    assert.match(await errorOf(cross, 403), /^Cross-site request refused/);
    const json = await f.app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "pw-alice" }),
    });
    assert.equal(
      await errorOf(json, 400),
      'body: expected a form (username, password), got "application/json"',
    );
  }));

Deno.test("a session idle past its timeout, or past its maximum age, sends pages back to /login", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "viewer");
    const start = f.clock.now();
    const browser = await f.signIn("alice");
    f.clock.set(start + 50 * 60_000); // used within the idle hour: still on
    assert.equal((await browser.request("/")).status, 200);
    f.clock.set(start + 50 * 60_000 + 61 * 60_000); // idle for 61 minutes
    const page = await browser.request("/");
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login");
    const api = await browser.request("/api/v1/sites");
    assert.match(await errorOf(api, 401), /^Session expired or signed out/);

    const again = await f.signIn("alice");
    for (let hour = 1; hour <= 3; hour++) { // kept busy, yet over the 3 h maximum
      f.clock.set(f.clock.now() + 59 * 60_000);
      assert.equal((await again.request("/")).status, 200, `hour ${hour}`);
    }
    f.clock.set(f.clock.now() + 5 * 60_000);
    assert.equal((await again.request("/")).status, 303);
  }, { idleMs: 60 * 60_000, maxAgeMs: 3 * 60 * 60_000 }));

Deno.test("signing out ends the session: the old cookie no longer works", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "viewer");
    const browser = await f.signIn("alice");
    // As Chromium posts a form under Referrer-Policy: no-referrer: Origin "null", same-origin.
    const out = await browser.request("/logout", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "null",
        "sec-fetch-site": "same-origin",
      },
      body: new URLSearchParams({ _csrf: browser.csrf }),
    });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get("location"), "/login");
    assert.match(out.headers.get("set-cookie") ?? "", /^scriptmon_session=; Max-Age=0/);
    assert.equal((await browser.request("/")).status, 303);
  }));

Deno.test("revoking a user's sessions, or removing the user, signs them out everywhere", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "viewer");
    await f.addUser("bob", "viewer");
    const [a1, a2, b] = [await f.signIn("alice"), await f.signIn("alice"), await f.signIn("bob")];
    assert.equal(await f.sessions.revokeUser("alice"), 2);
    assert.equal((await a1.request("/")).status, 303);
    assert.equal((await a2.request("/")).status, 303);
    assert.equal((await b.request("/")).status, 200);
    assert.equal(await f.users.remove("bob"), 1);
    assert.equal((await b.request("/")).status, 303);
  }));

Deno.test("a form post without the CSRF token, or with another session's, is refused 403", () =>
  withWeb(async (f) => {
    await f.addUser("alice", "viewer");
    await f.addUser("bob", "viewer");
    const alice = await f.signIn("alice");
    const bob = await f.signIn("bob");
    for (const body of [new URLSearchParams(), new URLSearchParams({ _csrf: bob.csrf })]) {
      const res = await alice.request("/logout", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      assert.match(await errorOf(res, 403), /^Missing or wrong CSRF token for POST \/logout/);
    }
    assert.equal((await alice.request("/")).status, 200, "still signed in");
  }));

Deno.test("a JSON request by cookie needs X-CSRF-Token and the collector's own origin", () =>
  withWeb(async (f) => {
    await f.addUser("olive", "operator");
    assert.equal((await f.ingest({})).status, 200);
    const olive = await f.signIn("olive");
    const noToken = await olive.post(RESTART, { headers: { "x-csrf-token": "" } });
    assert.match(await errorOf(noToken, 403), /^Missing or wrong CSRF token/);
    const otherOrigin = await olive.post(RESTART, { headers: { origin: "https://evil.example" } });
    assert.equal(
      await errorOf(otherOrigin, 403),
      `Cross-site request refused: Origin "https://evil.example" is not this collector (${ORIGIN})`,
    );
    const crossSite = await olive.post(RESTART, { headers: { "sec-fetch-site": "cross-site" } });
    assert.match(await errorOf(crossSite, 403), /came with Sec-Fetch-Site "cross-site"/);
    // A sandboxed frame elsewhere posts with Origin "null": refused unless the browser says same-origin.
    const nullCross = await olive.post(RESTART, {
      headers: { origin: "null", "sec-fetch-site": "cross-site" },
    });
    assert.match(await errorOf(nullCross, 403), /^Cross-site request refused/);
    const nullBare = await olive.request(RESTART, {
      method: "POST",
      headers: { origin: "null", "x-csrf-token": olive.csrf },
    });
    assert.match(await errorOf(nullBare, 403), /^Cross-site request refused: Origin "null"/);
    const ok = await olive.post(RESTART);
    assert.equal(ok.status, 202, await ok.clone().text());
    const { command } = await ok.json();
    assert.equal(command.requestedBy, "user:olive");
  }));

Deno.test("bearer tokens skip the CSRF check: they are not sent by browsers on their own", () =>
  withWeb(async (f) => {
    assert.equal((await f.ingest({})).status, 200);
    const { token } = await f.store.createToken({
      kind: "api",
      name: "ops",
      role: "admin",
      now: Date.now(),
    });
    const res = await f.app.request(RESTART, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, origin: "https://elsewhere.example" },
    });
    assert.equal(res.status, 202);
    await res.body?.cancel();
  }));

Deno.test("a viewer may read but not restart, even with a valid CSRF token (403)", () =>
  withWeb(async (f) => {
    await f.addUser("vera", "viewer");
    assert.equal((await f.ingest({})).status, 200);
    const vera = await f.signIn("vera");
    assert.equal((await vera.request("/api/v1/scripts")).status, 200);
    assert.equal(
      await errorOf(await vera.post(RESTART), 403),
      `User "vera" (viewer) may not POST ${RESTART}: that needs the operator role`,
    );
    assert.equal(
      await f.store.commands.pending("BFI4", "ws-01", Date.now()).then((c) => c.length),
      0,
    );
    const page = await (await vera.request("/")).text();
    assert.ok(!page.includes('data-a="restart"'), "no control buttons for a viewer");
  }));

Deno.test("an operator may not do what needs admin; an unlisted POST needs admin", () =>
  withWeb(async (f) => {
    await f.addUser("olive", "operator");
    const olive = await f.signIn("olive");
    const res = await olive.post("/api/v1/some-new-thing");
    assert.match(
      await errorOf(res, 403),
      /\(operator\) may not POST \/api\/v1\/some-new-thing: that needs the admin role/,
    );
  }));

Deno.test("a user scoped to one site may not command another site's agent", () =>
  withWeb(async (f) => {
    await f.addUser("olive", "operator", ["SEA8"]);
    assert.equal((await f.ingest({ scripts: [script("rates")] })).status, 200);
    const olive = await f.signIn("olive");
    assert.equal(
      await errorOf(await olive.post(RESTART), 403),
      'User "olive" may not see site "BFI4"',
    );
    assert.equal((await olive.request("/api/v1/agents/BFI4/ws-01/commands/x")).status, 403);
  }));

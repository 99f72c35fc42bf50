/**
 * The wall (`/wall`): a read-only wall token opened once as `?key=`, kept in
 * a cookie; what is wrong as big tiles per site, the rest as counts; no
 * controls; a revoked token refused; no session needed or accepted.
 */
import assert from "node:assert/strict";
import { script } from "../collector/_testing.ts";
import { withWeb } from "./_web.ts";

Deno.test("the wall: opened with its token once, then by cookie; problems big, the rest counted; revoked, refused", () =>
  withWeb(async (f) => {
    await f.ingest({
      host: "ws-01",
      scripts: [
        script("rates"),
        script("looping", { state: "crash-looping", reason: "exit code 3; next start in 8s" }),
        script("old", { state: "stopped", enabled: false }),
      ],
    });
    await f.ingest({ site: "SEA8", host: "ws-09", scripts: [script("dock")] });
    await f.ingest({ site: "DEN1", host: "ws-02", scripts: [script("secret_site_script")] });
    const { token } = await f.store.createToken({
      kind: "wall",
      name: "bfi4-floor",
      sites: ["BFI4", "SEA8"],
      now: f.clock.now(),
    });

    // No token: refused, with how to get one; a signed-in user's session is not a wall token.
    const anonymous = await f.app.request("/wall");
    assert.equal(anonymous.status, 401);
    assert.match((await anonymous.json()).error, /wall-token create/);
    await f.addUser("vera", "viewer");
    const vera = await f.signIn("vera");
    assert.equal((await vera.request("/wall")).status, 401);

    // The key once: a cookie for /wall, and the key leaves the address bar.
    const opened = await f.app.request(`/wall?key=${token}`);
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.get("location"), "/wall");
    const cookie = opened.headers.get("set-cookie")!;
    assert.match(
      cookie,
      /^scriptmon_wall=smwall_[\w-]+; Max-Age=\d+; Path=\/wall; HttpOnly; SameSite=Strict/,
    );
    const headers = { cookie: cookie.split(";")[0] };
    const wall = await f.app.request("/wall", { headers });
    assert.equal(wall.status, 200);
    const html = await wall.text();
    assert.match(html, /<meta http-equiv="refresh" content="10">/);
    // BFI4 has a problem: first, in red, with a big tile naming the script, its host and why.
    assert.ok(html.indexOf(">BFI4<") < html.indexOf(">SEA8<"));
    assert.match(
      html,
      /class="wall-site trouble"><h2>BFI4<span class="sum">1 problem · 1 of 2 scripts running/,
    );
    assert.match(
      html,
      /<div class="wt bad"><span class="what">looping<\/span><span class="where">ws-01<\/span><span class="state">crash-looping<\/span><span class="why">exit code 3; next start in 8s<\/span><\/div>/,
    );
    assert.match(
      html,
      /class="wall-site fine"><h2>SEA8<span class="sum">all well · 1 of 1 scripts running/,
    );
    // Only its sites, nothing that acts, no running script as a tile.
    assert.ok(!html.includes("DEN1") && !html.includes("secret_site_script"));
    assert.doesNotMatch(html, /<button|<form|data-a=/);
    assert.ok(!html.includes('"what">rates<'));

    // Revoked: refused at the next reload, and the cookie is cleared.
    await f.store.revokeToken("wall", "bfi4-floor", f.clock.now());
    const after = await f.app.request("/wall", { headers });
    assert.equal(after.status, 401);
    assert.match(after.headers.get("set-cookie") ?? "", /scriptmon_wall=;/);
    // A wall token opens nothing else.
    const api = await f.app.request("/api/v1/scripts", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(api.status, 401);
  }));

/** The fleet page shows every workstation's tokens with their state and time left. */
import assert from "node:assert/strict";
import { ingestRequest, script } from "../collector/_testing.ts";
import type { TokenSummary } from "../shared/mod.ts";
import { withWeb } from "./_web.ts";

function token(
  name: string,
  state: string,
  expiresInMs: number | null,
  now: number,
): TokenSummary {
  return {
    name,
    state,
    expiresAt: expiresInMs === null ? null : new Date(now + expiresInMs).toISOString(),
    secondsLeft: expiresInMs === null ? null : Math.round(expiresInMs / 1000),
    predicted: name === "cookie",
    confidence: name === "cookie" ? 0.8 : 1,
    usedBy: ["rates"],
  };
}

Deno.test("the fleet page lists each workstation's tokens: state, time left, predicted or stated", async () => {
  await withWeb(async ({ store, addUser, signIn, clock }) => {
    await store.ingest({
      ...ingestRequest({ site: "BFI4", host: "ws-07", scripts: [script("rates")] }),
      tokens: [
        // Against the collector's clock: the page says the same however long the test takes.
        token("sso", "expiring", 2 * 3_600_000 + 60_000, clock.now()),
        token("cookie", "valid", 26 * 3_600_000, clock.now()),
        token("jwt", "expired", -15 * 60_000, clock.now()),
        token("file", "unknown", null, clock.now()),
      ],
    }, { now: clock.now(), tokenName: "ws-07" });
    await addUser("vera", "viewer");
    const page = await (await (await signIn("vera")).request("/")).text();
    // A chip's text, its time left in a span of its own (the page counts it on).
    const chips = [
      ...page.matchAll(/<span class="tk (\w+)"[^>]*>(.*?)<\/span>(?=<span class="tk|<\/div>)/g),
    ]
      .map((m) => [m[1], m[2].replace(/<[^>]+>/g, "")]);
    assert.match(page, /<span data-until="\d+" ?>2h 1m left<\/span>/);
    assert.deepEqual(chips, [
      ["warn", "token sso: expiring · 2h 1m left"],
      ["ok", "token cookie: valid · 1d 2h left (predicted)"],
      ["bad", "token jwt: expired · expired 15m ago"],
      ["off", "token file: unknown"],
    ]);
    assert.ok(!page.includes("secondsLeft"), "no raw data on the page");
  });
});

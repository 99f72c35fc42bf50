/**
 * The fleet page's live tiles in Chromium (issue 23): a change drawn from
 * the stream updates its site's counts by difference; uptimes and a token's
 * time left count on in the page (the server no longer re-sends unchanged
 * workstations to move them), worded as the server words them.
 */
import assert from "node:assert/strict";
import { formatDuration } from "../shared/config/mod.ts";
import { script } from "../collector/_testing.ts";
import { CHROMIUM, chromiumPresent, launchBrowser } from "./_browser.ts";
import { withWeb } from "./_web.ts";

const present = chromiumPresent();
if (!present) console.warn(`Skipping the live tiles test: no Chromium at ${CHROMIUM}`);

const HOUR = 3_600_000;

Deno.test({
  name: "in Chromium: live changes recount their site, uptimes and tokens' time left count on",
  ignore: !present,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withWeb(async (f) => {
      const started = Date.now();
      f.clock.set(started);
      await f.addUser("opal", "operator");
      for (const host of ["ws-1", "ws-2"]) {
        const res = await f.ingest({
          site: "FC1",
          host,
          scripts: [
            script("rates", { uptimeMs: HOUR }),
            script("loads", { uptimeMs: 2 * HOUR }),
          ],
        });
        assert.equal(res.status, 200);
      }
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, f.app.fetch);
      try {
        const base = `http://127.0.0.1:${server.addr.port}/`;
        await using browser = await launchBrowser();
        const page = await browser.newPage();
        await page.clock.install({ time: started });
        await page.goto(`${base}login`);
        await page.fill('input[name="username"]', "opal");
        await page.fill('input[name="password"]', "pw-opal");
        await Promise.all([page.waitForURL(base), page.click('button[type="submit"]')]);
        const count = (name: string) => page.locator(`.counts [data-c="${name}"]`).textContent();
        const uptime = () => page.locator('[data-k="FC1/ws-2/rates"] [data-since]').textContent();
        assert.equal(await count("running"), "4");
        assert.equal(await uptime(), "up 1h");

        // The page's formatter says what the server's says.
        const samples = [
          0,
          999,
          1_000,
          7_449,
          9_960,
          59_499,
          60_000,
          3_599_000,
          HOUR + 61_000,
          26 * HOUR + 5 * 60_000,
          40 * 24 * HOUR,
        ];
        const inPage = await page.evaluate(
          (list) =>
            list.map((ms) =>
              (globalThis as unknown as { formatDuration(ms: number): string })
                .formatDuration(ms)
            ),
          samples,
        );
        assert.deepEqual(inPage, samples.map(formatDuration));

        // A crash on ws-1: its block is replaced, the counts follow by difference.
        await page.waitForSelector('body[data-live="on"]');
        const res = await f.ingest({
          site: "FC1",
          host: "ws-1",
          scripts: [
            script("rates", { state: "crash-looping", pid: null, restarts: 5 }),
            script("loads", { uptimeMs: 2 * HOUR }),
          ],
        });
        assert.equal(res.status, 200);
        for (let i = 0; i < 100; i++) {
          await page.clock.runFor(100); // the page's animation frames run on its clock
          if (await count("crashLooping") === "1") break;
        }
        assert.equal(await count("crashLooping"), "1");
        assert.equal(await count("running"), "3");
        assert.equal(
          await page.locator('[data-k="FC1/ws-1/rates"]').getAttribute("class"),
          "t bad",
        );

        // An hour and five minutes on, with nothing sent: the uptime moved on in the page.
        await page.clock.runFor(HOUR + 5 * 60_000);
        assert.equal(await uptime(), "up 2h 5m");
      } finally {
        await server.shutdown();
      }
    }),
});

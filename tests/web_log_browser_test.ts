/**
 * The script page and the log viewer in a real browser (Debian's Chromium
 * through playwright-core) against a real collector and a real agent: the
 * log shows a line the fixture printed (as text), marks stderr, follows new
 * lines and filters by the search box; the script page draws its charts
 * with the collector's own uPlot under the strict CSP. Screenshots go to
 * `test-artifacts/` (script.png, script-dark.png, log.png).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { fixtureScript } from "./_agent_process.ts";
import { ARTIFACTS, CHROMIUM, chromiumPresent, launchBrowser, signIn } from "./_browser.ts";
import { Fleet } from "./_fleet.ts";
import { until } from "./_helpers.ts";

const HELLO = "hello from the fixture <img src=x onerror=alert(1)>";
const present = chromiumPresent();
if (!present) {
  console.warn(`Skipping the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

/** Browser errors and CSP refusals seen by `page`. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // Failed loads are reported below with their URL.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      errors.push(`console: ${message.text()}`);
    }
  });
  page.on("response", (res) => {
    // The browser asks for /favicon.ico on its own; the collector has none.
    if (res.status() >= 400 && !res.url().endsWith("/favicon.ico")) {
      errors.push(`${res.status()} ${res.url()}`);
    }
  });
  return errors;
}

Deno.test({
  name:
    "in Chromium: a script's log shows the fixture's line as text, stderr marked, follows and filters; the script page draws its charts",
  ignore: !present,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using fleet = await Fleet.start();
    await fleet.collector.addUser("vic", { role: "viewer", password: "pw-vic" });
    await fleet.startAgent(
      await fleet.agentConfig("SITEL", "l1", fixtureScript("talker", "log_lines.ts", "300")),
    );
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = watchErrors(page);
    const base = fleet.collector.url;
    await signIn(page, base, "vic");
    await page.waitForSelector('[data-k="SITEL/l1/talker"][data-st="running"]', {
      timeout: 15_000,
    });

    // The log viewer, opened from the script page's link.
    await page.goto(`${base}scripts/SITEL/l1/talker`);
    await Promise.all([page.waitForURL(/\/log$/), page.click('a[href$="/talker/log"]')]);
    const hello = page.locator("#loglines .ln.stdout .txt", { hasText: "hello from the fixture" });
    await hello.first().waitFor({ timeout: 15_000 });
    assert.equal(await hello.first().textContent(), HELLO, "agent text shown as text");
    assert.equal(await page.locator("#loglines img").count(), 0, "no img element was made");
    assert.equal(
      await page.locator("#loglines .ln.stderr .txt").first().textContent(),
      "a warning on stderr",
    );
    assert.equal(await page.locator("#loglines .ln.stderr .tag").first().textContent(), "err");

    // Following: new ticks arrive without a reload.
    const before = await page.locator("#loglines .ln").count();
    await until(
      "new lines followed in",
      async () => await page.locator("#loglines .ln").count() > before + 2,
    );
    // The search box filters and highlights within the loaded lines.
    await page.fill("#logsearch", "WARNING on");
    const shown = page.locator("#loglines .ln:not([hidden])");
    assert.equal(await shown.count(), 1);
    assert.equal(await shown.locator("mark").textContent(), "warning on");
    await page.screenshot({ path: new URL("log.png", ARTIFACTS).pathname, fullPage: true });
    await page.fill("#logsearch", "");

    // The script page: with one sample so far it says so; with older samples beside it (as
    // the agent sends one every 5 minutes; written into the collector's KV file here) both
    // charts are drawn by uPlot.
    await page.goto(`${base}scripts/SITEL/l1/talker`);
    assert.match(await page.locator("#chart-rss").textContent() ?? "", /sample/);
    const kv = await Deno.openKv(join(fleet.dir, "collector", "collector.kv"));
    try {
      for (const [minutes, cpu] of [[20, 1.5], [10, 2.5]]) {
        const at = Date.now() - minutes * 60_000;
        await kv.set(["sample", "SITEL", "l1", at], [["talker", 20_000_000, cpu]]);
      }
    } finally {
      kv.close();
    }
    await page.reload();
    await page.waitForSelector("#chart-rss canvas", { timeout: 10_000 });
    await page.waitForSelector("#chart-cpu canvas", { timeout: 10_000 });
    assert.ok((await page.locator(".timeline rect.seg-up").count()) >= 1);
    assert.match((await page.locator("#uptime-24h").textContent()) ?? "", /%$/);
    assert.equal(await page.locator(".ctl").count(), 0, "a viewer sees no control buttons");
    await page.screenshot({ path: new URL("script.png", ARTIFACTS).pathname, fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.screenshot({ path: new URL("script-dark.png", ARTIFACTS).pathname, fullPage: true });
    assert.deepEqual(errors, [], "no script errors and no CSP refusals");
  },
});

/**
 * The pages an FC operator reads (issue 17), in Chromium against a real
 * collector and real agents, in light and dark, saved to `test-artifacts/`
 * (`screen-<page>-<scheme>.png`): the fleet page's tiles (history strip,
 * uptime, quiet zeros, folded disabled scripts), a crash-looping script's
 * page (its incident), the alerts page (episodes), the reports page
 * (uptime bars, incidents, downloads) and the wall. Each page is checked
 * for what a person would look for, and for no failed request (the favicon
 * included), and the fleet page for a phone's width.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { fixtureScript } from "./_agent_process.ts";
import { ARTIFACTS, CHROMIUM, chromiumPresent, launchBrowser } from "./_browser.ts";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";
import { Recorder } from "./_recorder.ts";

const present = chromiumPresent();
if (!present) console.warn(`Skipping the screens test: no Chromium at ${CHROMIUM}`);

/** Saves `page` in light and dark as `screen-<name>-<scheme>.png`. */
async function shoot(page: Page, name: string): Promise<void> {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({
      path: new URL(`screen-${name}-${scheme}.png`, ARTIFACTS).pathname,
      fullPage: true,
    });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

Deno.test({
  name:
    "in Chromium: the fleet, script, alerts, reports and wall pages read at a glance, light and dark",
  ignore: !present,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using slack = new Recorder();
    await using fleet = await Fleet.start({
      extraToml: `[webhooks.ops]\nkind = "slack"\nurl = "${slack.url("/services/T0/B0/x")}"\n\n` +
        `[notify]\ngroup_wait = "1s"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
    });
    await fleet.collector.addUser("opal", { role: "operator", password: "pw-opal" });
    const wallToken = await fleet.collector.wallToken("floor");
    await fleet.startAgent(
      await fleet.agentConfig(
        "FC1",
        "ws-1",
        fixtureScript("steady", "print_hang.ts", "1") +
          `[scripts.flaky]\ncommand = ["sh", "-c", "echo 'lost the connection to dock 7' >&2; ` +
          `sleep 0.3; exit 3"]\n` +
          `restart = { min_delay = "100ms", max_delay = "300ms", max_restarts = 2, window = "1m" }\n\n` +
          `[scripts.old_report]\ncommand = ["sleep", "1"]\nenabled = false\n\n`,
      ),
    );
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const failed: string[] = [];
    page.on("response", (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    });
    const base = fleet.collector.url;
    await page.goto(`${base}login`);
    await page.fill('input[name="username"]', "opal");
    await page.fill('input[name="password"]', "pw-opal");
    await Promise.all([page.waitForURL(base), page.click('button[type="submit"]')]);

    // Fleet: the crash loop first, with its reason on one line; counts once, zeros quiet.
    await until("the crash-looping alert", async () => {
      const { alerts } = await fleet.getJson<{ alerts: { rule: string }[] }>("/api/v1/alerts");
      return alerts.some((a) => a.rule === "crash-looping");
    }, 30_000);
    await page.reload();
    await page.waitForSelector('[data-k="FC1/ws-1/flaky"].bad');
    assert.equal(await page.locator(".counts").count(), 1, "the summary once");
    assert.equal(
      await page.locator('.counts [data-c="unhealthy"]').getAttribute("class"),
      "zero",
      "a zero is quiet",
    );
    const tiles = await page.locator("[data-k]").evaluateAll((els) =>
      els.filter((el) => !el.closest("details")).map((el) => el.getAttribute("data-k"))
    );
    assert.deepEqual(tiles, ["FC1/ws-1/flaky", "FC1/ws-1/steady"], "problems first");
    assert.equal(await page.locator('[data-k="FC1/ws-1/steady"] .ctl button').count(), 2);
    assert.equal(
      await page.locator("details.fold summary").textContent(),
      "1 off: old_report (disabled)",
    );
    await shoot(page, "fleet");
    // A phone: the page fits its width (no sideways scrolling).
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert.ok(overflow <= 0, `the fleet page is ${overflow}px wider than a phone`);
    await page.screenshot({ path: new URL("screen-fleet-phone.png", ARTIFACTS).pathname });
    await page.setViewportSize({ width: 1400, height: 900 });

    // The crash-looping script's page: its incident, said in words.
    await page.goto(`${base}scripts/FC1/ws-1/flaky`);
    const incident = await page.locator("#incident").textContent();
    assert.match(incident ?? "", /Down since .+, \d+ restarts? since/);
    assert.match(await page.locator("#chart-rss").textContent() ?? "", /sample/);
    // Its last words on stderr, read from the agent's log.
    await page.waitForSelector("#incident-stderr:not([hidden])", { timeout: 10_000 });
    assert.match(
      await page.locator("#incident-stderr pre").textContent() ?? "",
      /^lost the connection to dock 7$/m,
    );
    await shoot(page, "script");

    // Alerts: the crash loop once, with its episodes.
    await page.goto(`${base}alerts`);
    assert.equal(await page.locator('tr[data-title*="flaky is crash-looping"]').count(), 1);
    assert.match(await page.locator(".episodes summary").first().textContent() ?? "", /episode/);
    await shoot(page, "alerts");

    // Notifications: what went to the (stand-in) Slack, each with its answer.
    await page.goto(`${base}notifications`);
    await page.waitForSelector("#notifications");
    await shoot(page, "notifications");

    // Reports: this week's digest; the crash loop an incident still open, its bar the first, and
    // the downloads of the same period answer.
    await page.goto(`${base}reports`);
    assert.match(
      await page.locator("#incidents").textContent() ?? "",
      /flaky is crash-looping.*still open/s,
    );
    assert.equal(
      await page.locator("#uptime-bars tbody tr").first().getAttribute("data-script"),
      "flaky",
      "the worst uptime first",
    );
    assert.match(await page.locator("#uptime-all").textContent() ?? "", /^\d+\.\d\d %$/);
    for (const link of await page.locator("#downloads a").all()) {
      const href = await link.getAttribute("href") ?? "";
      assert.match(href, /since=\d{4}-\d\d-\d\dT00%3A00%3A00\.000Z&until=/);
      const res = await page.request.get(new URL(href, base).href);
      assert.equal(res.status(), 200, href);
    }
    await shoot(page, "reports");

    // The wall: no session needed; the problem big, read from across a room.
    const wall = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    wall.on("response", (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    });
    await wall.goto(`${base}wall?key=${wallToken}`);
    assert.equal(new URL(wall.url()).search, "", "the key left the address bar");
    const what = wall.locator(".wt .what", { hasText: "flaky" });
    const size = Number(
      await wall.evaluate<string>(
        `getComputedStyle(document.querySelector(".wt .what")).fontSize.replace("px", "")`,
      ),
    );
    assert.equal(await what.count(), 1);
    assert.ok(size >= 28, `the wall's tile text is ${size}px`);
    assert.equal(await wall.locator("button").count(), 0, "no controls on the wall");
    await shoot(wall, "wall");

    // A phone's width: every page fits it (wide tables scroll inside themselves).
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ["", "scripts/FC1/ws-1/flaky", "alerts", "notifications", "reports"]) {
      await page.goto(`${base}${path}`);
      const wider = await page.evaluate<number>(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.ok(wider <= 0, `/${path} is ${wider}px wider than a phone`);
    }
    await page.goto(`${base}alerts`);
    await page.screenshot({ path: new URL("screen-alerts-phone.png", ARTIFACTS).pathname });
    await page.goto(`${base}reports`);
    await page.screenshot({
      path: new URL("screen-reports-phone.png", ARTIFACTS).pathname,
      fullPage: true,
    });

    // Times on the reader's clock: a reader in India sees 10:00 UTC as 15:30, and the filter
    // they submit goes back to the server in UTC.
    const india = await browser.newContext({ timezoneId: "Asia/Kolkata" });
    await india.addCookies(await page.context().cookies());
    const reader = await india.newPage();
    await reader.goto(`${base}notifications?since=2026-12-05T10:00`);
    assert.equal(await reader.locator('input[name="since"]').inputValue(), "2026-12-05T15:30");
    assert.equal(await reader.locator(".tz").first().textContent(), "(your time)");
    await Promise.all([
      reader.waitForURL(/since=2026-12-05T10%3A00/),
      reader.click('form.inline button[type="submit"]'),
    ]);
    await india.close();

    assert.deepEqual(failed, [], "no request failed (favicon included)");
  },
});

/**
 * The central config page in a real browser (Debian's Chromium through
 * playwright-core) against a real collector and a real agent: an admin
 * checks an edit (the problem shown with its line), saves it, changes a
 * webhook's URL, sends it a test message, and rolls back; the agent follows.
 * Screenshots go to `test-artifacts/`.
 */
import assert from "node:assert/strict";
import { ARTIFACTS, CHROMIUM, chromiumPresent, launchBrowser, signIn } from "./_browser.ts";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";
import { Recorder } from "./_recorder.ts";

const present = chromiumPresent();
if (!present) {
  console.warn(`Skipping the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

Deno.test({
  name: "in Chromium: an admin checks, saves and rolls back central config, changes a webhook's " +
    "URL and sends it a test message; the agent follows",
  ignore: !present,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using fleet = await Fleet.start();
    await using first = new Recorder();
    await using second = new Recorder();
    await fleet.collector.addUser("ada", { role: "admin", password: "pw-ada" });
    await fleet.collector.addUser("opal", { role: "operator", password: "pw-opal" });
    const agent = await fleet.startAgent(
      await fleet.agentConfig("FC1", "ws-1", `[scripts.sleeper]\ncommand = ["sleep", "600"]\n`),
    );
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const prompts: string[] = [];
    const answers: string[] = [];
    page.on("dialog", (dialog) => {
      prompts.push(dialog.message());
      void dialog.accept(answers.shift() ?? "");
    });
    const base = fleet.collector.url;
    const runs = (version: number) =>
      until(
        `ws-1 on v${version}`,
        async () => (await agent.status()).agent.central?.version === version || undefined,
      );

    // An operator gets no Config page.
    await signIn(page, base, "opal");
    assert.equal(await page.locator('nav a[href="/config"]').count(), 0);
    assert.equal((await page.goto(new URL("/config", base).href))?.status(), 403);
    await page.context().clearCookies();

    await signIn(page, base, "ada");
    await page.click('nav a[href="/config"]');
    await page.waitForSelector("h1:text('Central config')");

    // A new fleet document: a typo is shown with its line, nothing saved.
    const form = page.locator('[data-doc=""] form');
    await form.locator('input[name="scope"]').fill("fleet");
    await form.locator('textarea[name="text"]').fill(
      `[webhooks.ops]\nkind = "slack"\nurl = "${first.url()}"\n\n` +
        `[scripts.rates]\ncommand = ["sleep", "601"]\nstop_timeout = "later"\n`,
    );
    await form.locator('button[data-do="check"]').click();
    await form.locator(".doc-result .issues li").waitFor();
    assert.match(
      await form.locator(".doc-result .issues li").first().textContent() ?? "",
      /^fleet:7: scripts\.rates\.stop_timeout: /,
    );
    await page.screenshot({
      path: new URL("config-check.png", ARTIFACTS).pathname,
      fullPage: true,
    });
    await form.locator('textarea[name="text"]').fill(
      `[webhooks.ops]\nkind = "slack"\nurl = "${first.url()}"\n\n` +
        `[scripts.rates]\ncommand = ["sleep", "601"]\n`,
    );
    await form.locator('input[name="why"]').fill("ops channel and the rates watcher");
    await Promise.all([page.waitForEvent("load"), form.locator('button[data-do="save"]').click()]);
    await page.waitForSelector('[data-version="1"]');
    await runs(1);
    await agent.running("rates");

    // The webhook's URL shows only to its host; a test message reaches it.
    const hook = page.locator('[data-webhook="ops"]');
    assert.equal(
      await hook.locator("td.mono").textContent(),
      "http://127.0.0.1:" + first.port + "/…",
    );
    assert.ok(!(await page.content()).includes(first.url()), "the URL is never on the page");
    await hook.locator('button[data-do="test"]').click();
    await page.waitForSelector("#configmsg.ok");
    await first.received(1);
    assert.match(first.requests[0].body, /test message from the collector \(user:ada\)/);

    // Change its URL: a new version the agent applies; its next post goes there.
    answers.push(second.url(), "moved to Workflows");
    await Promise.all([
      page.waitForEvent("load"),
      hook.locator('button[data-do="seturl"]').click(),
    ]);
    await page.waitForSelector('[data-version="2"]');
    await runs(2);
    await page.screenshot({ path: new URL("config.png", ARTIFACTS).pathname, fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.screenshot({ path: new URL("config-dark.png", ARTIFACTS).pathname, fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });
    const port = await agent.ready();
    const relayed = await fetch(`http://127.0.0.1:${port}/relay/ops`, {
      method: "POST",
      body: JSON.stringify({ text: "dock 4 open" }),
    });
    assert.equal(relayed.status, 202);
    await second.received(1);

    // Version 2's diff, then a rollback to version 1.
    await page.locator('[data-version="2"] button[data-do="diff"]').click();
    await page.waitForSelector("#version-diff:not([hidden])");
    assert.match(await page.locator("#version-diff").textContent() ?? "", /^-url = "enc:v1:/m);
    answers.push("Workflows is down");
    await Promise.all([
      page.waitForEvent("load"),
      page.locator('[data-version="1"] button[data-do="rollback"]').click(),
    ]);
    await page.waitForSelector('[data-version="3"]');
    assert.match(await page.locator('[data-version="3"]').textContent() ?? "", /rollback to v1/);
    await runs(3);
    await until("the page shows ws-1 on its version", async () => {
      await page.reload();
      return await page.locator("#count-current").textContent() === "1" || undefined;
    });
    assert.deepEqual(prompts.length, 3);
  },
});

/**
 * The fleet page in a real browser (Debian's Chromium through playwright-core)
 * against a real collector and two real agents in two environments: each
 * site's heading names its environment, and a workstation that was away
 * while central config changed is named in the notice of workstations not on
 * their config version until it returns and applies it. Screenshots go to
 * `test-artifacts/` (`fleet-config-<scheme>.png`).
 */
import assert from "node:assert/strict";
import { ARTIFACTS, CHROMIUM, chromiumPresent, launchBrowser, signIn } from "./_browser.ts";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";

const present = chromiumPresent();
if (!present) {
  console.warn(`Skipping the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

const SLEEPER = `[scripts.sleeper]\ncommand = ["sleep", "600"]\n`;

Deno.test({
  name: "in Chromium: the fleet page names each site's environment and the workstation not on " +
    "its config version, until it returns",
  ignore: !present,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using fleet = await Fleet.start();
    await fleet.collector.addUser("ada", { role: "admin", password: "pw-ada" });
    const configs = {
      prod: await fleet.agentConfig("FC1", "ws-1", SLEEPER, { environment: "prod" }),
      staging: await fleet.agentConfig("QA1", "ws-9", SLEEPER, { environment: "staging" }),
    };
    await fleet.startAgent(configs.prod);
    let away = await fleet.startAgent(configs.staging);
    const admin = await fleet.collector.apiToken("config-admin", "admin");
    const api = (path: string, init: RequestInit = {}) =>
      fetch(new URL(path, fleet.collector.url), {
        ...init,
        headers: { authorization: `Bearer ${admin}`, ...init.headers },
      });
    const save = async (text: string, why: string) => {
      const res = await api("/api/v1/config/documents/fleet", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text, why }),
      });
      assert.equal(res.status, 201, await res.text());
    };
    const running = (host: string, version: number) =>
      until(`${host} on config v${version}`, async () => {
        const res = await api("/api/v1/config/agents");
        const { agents } = await res.json() as { agents: { host: string; running: number }[] };
        return agents.find((a) => a.host === host)?.running === version || undefined;
      });

    await save(`[defaults]\nstop_timeout = "3s"\n`, "a longer grace to stop");
    await running("ws-1", 1);
    await running("ws-9", 1);
    // ws-9 is away while the fleet's config changes again.
    await away[Symbol.asyncDispose]();
    await save(`[defaults]\nstop_timeout = "4s"\n`, "longer still");
    await running("ws-1", 2);

    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await signIn(page, fleet.collector.url, "ada");
    const notice = page.locator("#config-behind");
    await notice.waitFor();
    assert.match(
      await notice.textContent() ?? "",
      /^1 workstation is not on its config version: QA1\/ws-9 \(v1, should run v2\)\./,
    );
    assert.equal(await notice.locator('a[href="/config"]').count(), 1, "an admin is sent on");
    assert.equal(await page.locator('[data-site="FC1"] h2 .env').textContent(), "prod");
    assert.equal(await page.locator('[data-site="QA1"] h2 .env').textContent(), "staging");
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({
        path: new URL(`fleet-config-${scheme}.png`, ARTIFACTS).pathname,
        fullPage: true,
      });
    }

    // Back, it applies v2 and the notice goes.
    away = await fleet.startAgent(configs.staging);
    await running("ws-9", 2);
    await until("the notice gone", async () => {
      await page.reload();
      return (await page.locator("#config-behind").count()) === 0 || undefined;
    });
    await away[Symbol.asyncDispose]();
  },
});

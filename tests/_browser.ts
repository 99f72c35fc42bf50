/**
 * A real browser for the web tests: Debian's Chromium (`/usr/bin/chromium`,
 * or `$SCRIPTMON_CHROMIUM`) driven by playwright-core. No browser is ever
 * downloaded; without Chromium the browser tests are skipped (`.ci/run`
 * installs it).
 */
import { type Browser, chromium, type Page } from "playwright-core";

/** The Chromium binary the tests drive. */
export const CHROMIUM = Deno.env.get("SCRIPTMON_CHROMIUM") ?? "/usr/bin/chromium";

/** Whether {@linkcode CHROMIUM} exists. */
export function chromiumPresent(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Where the tests save screenshots (git-ignored). */
export const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);

/** Launches headless Chromium (with `extraArgs`); close it with `await using`. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser & AsyncDisposable> {
  const asRoot = Deno.uid() === 0;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox does not run as root (CI containers).
    args: [...(asRoot ? ["--no-sandbox"] : []), ...extraArgs],
    timeout: 30_000,
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/** Signs `name` in at the collector `base` (its URL with the trailing slash; password `pw-<name>`). */
export async function signIn(page: Page, base: string, name: string): Promise<void> {
  await page.goto(base);
  await page.fill('input[name="username"]', name);
  await page.fill('input[name="password"]', `pw-${name}`);
  await Promise.all([page.waitForURL(base), page.click('button[type="submit"]')]);
}

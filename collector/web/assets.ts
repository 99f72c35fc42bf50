/**
 * The static files of the script, log, alerts, notifications, reports, export and
 * config pages, served at `/static/<name>`: uPlot (vendored by
 * `scripts/vendor.ts`, MIT, see `vendor/uPlot.LICENSE`) and the pages' own
 * script and style. They are imported as text, so `deno compile` embeds
 * them and nothing is read from disk at run time.
 *
 * @module
 */
import uplotJs from "./vendor/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "./vendor/uPlot.min.css" with { type: "text" };
import logPageJs from "./page_assets/log_page.js" with { type: "text" };
import scriptPageJs from "./page_assets/script_page.js" with { type: "text" };
import alertsPageJs from "./page_assets/alerts_page.js" with { type: "text" };
import configPageJs from "./page_assets/config_page.js" with { type: "text" };
import pagesCss from "./page_assets/pages.css" with { type: "text" };

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** Each served file: its text and content type. */
export const PAGE_ASSETS: Readonly<Record<string, { body: string; type: string }>> = {
  "uplot.js": { body: uplotJs, type: JS },
  "uplot.css": { body: uplotCss, type: CSS },
  "log_page.js": { body: logPageJs, type: JS },
  "script_page.js": { body: scriptPageJs, type: JS },
  "alerts_page.js": { body: alertsPageJs, type: JS },
  "config_page.js": { body: configPageJs, type: JS },
  "pages.css": { body: pagesCss, type: CSS },
};

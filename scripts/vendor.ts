/**
 * Copies the browser files of the collector's chart library, uPlot, from
 * Deno's npm cache into `collector/web/vendor/` (committed), so that the
 * collector serves them itself (no CDN) and `deno compile` embeds them
 * (they are imported as text by `collector/web/assets.ts`). Run it after
 * changing {@linkcode UPLOT_VERSION}:
 *
 *     deno run --allow-read --allow-write --allow-run --allow-env scripts/vendor.ts
 *
 * @module
 */
import { join, resolve } from "node:path";

/** The uPlot release the page is built against. */
export const UPLOT_VERSION = "1.6.32";

const FILES = ["dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"];
const OUT = resolve(import.meta.dirname!, "..", "collector", "web", "vendor");

async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (out.code !== 0) throw new Error(`deno ${args.join(" ")} failed: ${text(out.stderr)}`);
  return text(out.stdout);
}

async function main(): Promise<void> {
  const spec = `npm:uplot@${UPLOT_VERSION}`;
  await deno(["cache", "--no-config", spec]);
  const info = JSON.parse(await deno(["info", "--json"])) as { npmCache?: string };
  if (typeof info.npmCache !== "string") throw new Error("deno info did not name its npm cache");
  const from = join(info.npmCache, "registry.npmjs.org", "uplot", UPLOT_VERSION);
  await Deno.mkdir(OUT, { recursive: true });
  for (const file of FILES) {
    const name = file.split("/").at(-1)!;
    const target = join(OUT, name === "LICENSE" ? "uPlot.LICENSE" : name);
    await Deno.copyFile(join(from, file), target);
    console.log(`${spec}/${file} -> ${target}`);
  }
}

if (import.meta.main) await main();

/**
 * The page's own assets under `/static/<name>`: a fixed list of files in
 * `collector/web/static/` (nothing else is ever served from disk), read on
 * first use and kept. Add a file here to serve it.
 *
 * @module
 */

/** Served files and their content types. */
export const STATIC_FILES: Readonly<Record<string, string>> = {
  "app.css": "text/css; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
};

/** Reads the listed static files once each. */
export class StaticFiles {
  #cache = new Map<string, Promise<Uint8Array>>();

  /** The file's bytes and type, or null when `name` is not listed. */
  async get(name: string): Promise<{ body: Uint8Array; type: string } | null> {
    const type = STATIC_FILES[name];
    if (type === undefined || !Object.hasOwn(STATIC_FILES, name)) return null;
    let body = this.#cache.get(name);
    if (body === undefined) {
      body = Deno.readFile(new URL(`./static/${name}`, import.meta.url));
      this.#cache.set(name, body);
      body.catch(() => this.#cache.delete(name));
    }
    return { body: await body, type };
  }
}

/**
 * Calls back when the config file changes: on a file-system event for it
 * (editors often replace the file, so its folder is watched) or on SIGHUP,
 * debounced, and only when the content really changed.
 */
import { resolve } from "node:path";
import { getLogger } from "@logtape/logtape";
import { watchFile } from "../platform/watch_file.ts";

const log = getLogger(["scriptmon", "config"]);

/** Watches one config file; see the module comment. */
export class ConfigWatcher {
  #path: string;
  #onChange: () => void;
  #unwatch: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastText: string | null = null;
  #closed = false;
  #hup = () => this.#fire(true);
  #debounceMs: number;
  /** Resolves once the file's current content is known (changes are measured from it). */
  readonly ready: Promise<void>;

  constructor(path: string, onChange: () => void, options: { debounceMs?: number } = {}) {
    this.#path = resolve(path);
    this.#onChange = onChange;
    this.#debounceMs = options.debounceMs ?? 250;
    this.ready = this.#read().then((t) => {
      this.#lastText ??= t;
    });
    this.#watch();
    try {
      Deno.addSignalListener("SIGHUP", this.#hup);
    } catch {
      // No SIGHUP on this platform: file watching alone.
    }
  }

  #watch(): void {
    try {
      this.#unwatch = watchFile(this.#path, () => this.#fire(false));
    } catch (error) {
      log.warn("Cannot watch {path}: {error}", { path: this.#path, error });
    }
  }

  #fire(force: boolean): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(async () => {
      if (this.#closed) return;
      const text = await this.#read();
      if (!force && text === this.#lastText) return;
      this.#lastText = text;
      log.info("Config file {path} changed; reloading", { path: this.#path });
      this.#onChange();
    }, this.#debounceMs);
  }

  async #read(): Promise<string | null> {
    try {
      return await Deno.readTextFile(this.#path);
    } catch {
      return null;
    }
  }

  /** Stops watching. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unwatch?.();
    try {
      Deno.removeSignalListener("SIGHUP", this.#hup);
    } catch {
      // never added
    }
  }
}

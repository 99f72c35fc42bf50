/**
 * Hot reload of the collector's config file: on SIGHUP, and when the file
 * changes (checked every `pollMs`; editors that replace the file are seen
 * too). A file with problems is logged, named with every problem, and the
 * last good config stays in force. `[notify]` (routes, silences, waits,
 * repeat interval), `offline_after`, `retention` and `rollup_retention`
 * apply at once; the others (listen, data_dir, TLS, webhooks, command_ttl,
 * max_waiters, log_level) are read at start only, and a change to them is
 * logged as waiting for a restart.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { ConfigError, loadConfig, type ResolvedCollectorConfig } from "./load.ts";

const log = getLogger(["scriptmon", "collector", "config"]);

/** Keys whose change needs a restart. */
const RESTART_ONLY = [
  "listen",
  "dataDir",
  "store",
  "leaderTtlMs",
  "tls",
  "webhooks",
  "commandTtlMs",
  "maxWaiters",
  "logLevel",
] as const;

/** The keys of {@linkcode RESTART_ONLY} that differ between `a` and `b`. */
export function restartOnlyChanges(
  a: ResolvedCollectorConfig,
  b: ResolvedCollectorConfig,
): string[] {
  return RESTART_ONLY.filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

/** The keys of the resolved config that differ between `a` and `b` (`path` aside). */
export function changedKeys(a: ResolvedCollectorConfig, b: ResolvedCollectorConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete("path");
  return [...keys].filter((key) =>
    JSON.stringify(Reflect.get(a, key)) !== JSON.stringify(Reflect.get(b, key))
  );
}

/** What {@linkcode ConfigReloader} needs. */
export interface ConfigReloaderOptions {
  initial: ResolvedCollectorConfig;
  /** Called with each new good config (after `current()` returns it). */
  apply: (next: ResolvedCollectorConfig) => void;
  /** Told of every reload: the keys that changed, or why it was refused. */
  onReload?: (
    outcome: { reason: string; changed: string[] } | { reason: string; error: string },
  ) => void;
  /** How often the file is checked for a change; default 2 s. */
  pollMs?: number;
  /** Variables for `${VAR}`; default the environment. */
  vars?: Readonly<Record<string, string | undefined>>;
}

/** Keeps the collector's config current; see the module doc. */
export class ConfigReloader {
  #options: ConfigReloaderOptions;
  #current: ResolvedCollectorConfig;
  #error: string | null = null;
  #stamp: string | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #hup = () =>
    void this.reload("SIGHUP").catch((error) =>
      log.error("Config reload failed; the last good config stays: {error}", { error })
    );

  constructor(options: ConfigReloaderOptions) {
    this.#options = options;
    this.#current = options.initial;
  }

  /** The config in force. */
  current(): ResolvedCollectorConfig {
    return this.#current;
  }

  /** Why the last reload was refused, or null when the file in force is the file on disk. */
  lastError(): string | null {
    return this.#error;
  }

  /** Starts watching: the file's stamp now is the baseline. */
  async start(): Promise<void> {
    this.#stamp = await this.#readStamp();
    this.#timer = setInterval(() => void this.#poll(), this.#options.pollMs ?? 2000);
    try {
      Deno.addSignalListener("SIGHUP", this.#hup);
    } catch {
      // No SIGHUP on this platform (Windows): the file check alone.
    }
  }

  /** Stops watching. */
  close(): void {
    clearInterval(this.#timer);
    try {
      Deno.removeSignalListener("SIGHUP", this.#hup);
    } catch {
      // Never added.
    }
  }

  /** Reads the file again; true when a new config is in force. */
  reload(reason: string): Promise<boolean> {
    const run = this.#busy.then(() => this.#reload(reason));
    this.#busy = run.catch(() => {});
    return run;
  }

  async #reload(reason: string): Promise<boolean> {
    const path = this.#current.path;
    let next: ResolvedCollectorConfig;
    try {
      next = await loadConfig(path, this.#options.vars ? { vars: this.#options.vars } : {});
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#error = error.message;
      this.#options.onReload?.({ reason, error: error.message });
      log.error("Config reload ({reason}) refused; the last good config stays: {message}", {
        reason,
        message: error.message,
      });
      return false;
    }
    // A route to a webhook that is not running could never be delivered to.
    const running = Object.keys(this.#options.initial.webhooks);
    const newRoutes = next.notify.routes.flatMap((r) => r.webhooks).filter((w) =>
      !running.includes(w)
    );
    if (newRoutes.length > 0) {
      const message = `notify.routes name webhook ${JSON.stringify(newRoutes[0])}, which is not ` +
        "running: webhooks are read at start only, so restart the collector to add it";
      this.#error = message;
      this.#options.onReload?.({ reason, error: message });
      log.error("Config reload ({reason}) refused; the last good config stays: {message}", {
        reason,
        message,
      });
      return false;
    }
    const waiting = restartOnlyChanges(this.#current, next);
    const changed = changedKeys(this.#current, next);
    this.#current = next;
    this.#error = null;
    this.#options.apply(next);
    this.#options.onReload?.({ reason, changed });
    log.info("Config reloaded ({reason}) from {path}", { reason, path });
    if (waiting.length > 0) {
      log.warn("Config changes to {keys} take effect when the collector restarts", {
        keys: waiting.join(", "),
      });
    }
    return true;
  }

  async #poll(): Promise<void> {
    const stamp = await this.#readStamp();
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    if (stamp === null) return;
    try {
      await this.reload("file changed");
    } catch (error) {
      log.error("Config reload failed; the last good config stays: {error}", { error });
    }
  }

  async #readStamp(): Promise<string | null> {
    try {
      const info = await Deno.stat(this.#current.path);
      return `${info.mtime?.getTime()}:${info.size}:${info.ino ?? ""}`;
    } catch {
      return null; // Being replaced: the next check sees the new file.
    }
  }
}

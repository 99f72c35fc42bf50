/**
 * Every token of the config, and the gate in front of the scripts that use
 * them: a script may start only while each of its tokens is usable (`valid`
 * or `expiring`); otherwise it waits in `waiting-for-token` until a change
 * of the token (a refresh, or a person renewing the file) lets it go.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { Clock } from "../clock.ts";
import type { NewEvent } from "../supervise/event_log.ts";
import { TokenMonitor } from "./monitor.ts";
import { type ResolvedToken, type TokenStatus, tokenUsable } from "./types.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** What the script runners ask before a start. */
export interface TokenGate {
  /** Why `script` may not start now (naming the token and its state), or null. */
  blocked(script: string): string | null;
  /** Resolves at the next change of any token, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void>;
}

/** What the manager needs. */
export interface TokenManagerDeps {
  clock: Clock;
  kv?: KvHandle;
  /** Where state changes are recorded (kind "agent"; never the value). */
  events?: { append(event: NewEvent): void };
  /** Watch token files (default true). */
  watch?: boolean;
}

/** The tokens of one agent; see the module comment. */
export class TokenManager implements TokenGate {
  #deps: TokenManagerDeps;
  #monitors = new Map<string, TokenMonitor>();
  /** One-shot waiters of `changed()`. */
  #listeners = new Set<() => void>();
  #subscribers = new Set<() => void>();

  constructor(deps: TokenManagerDeps) {
    this.#deps = deps;
  }

  /** Brings the monitors in line with `tokens`: new ones make their first check before this resolves. */
  async apply(tokens: Record<string, ResolvedToken>): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [name, monitor] of this.#monitors) {
      if (!isDeepStrictEqual(tokens[name], monitor.token)) {
        this.#monitors.delete(name);
        closing.push(monitor.close());
      }
    }
    await Promise.all(closing);
    const starting: Promise<void>[] = [];
    for (const [name, token] of Object.entries(tokens)) {
      if (this.#monitors.has(name)) continue;
      const monitor = new TokenMonitor(token, {
        clock: this.#deps.clock,
        kv: this.#deps.kv,
        watch: this.#deps.watch,
        onChange: (status, previous) => this.#changed(status, previous),
      });
      this.#monitors.set(name, monitor);
      starting.push(monitor.start());
    }
    await Promise.all(starting);
    this.#notify();
  }

  /** Every token's status, in config order. */
  status(): TokenStatus[] {
    return [...this.#monitors.values()].map((m) => m.status());
  }

  /** The tokens `script` uses. */
  usedBy(script: string): TokenStatus[] {
    return this.status().filter((t) => t.usedBy.includes(script));
  }

  blocked(script: string): string | null {
    const bad = this.usedBy(script).filter((t) => !tokenUsable(t.state));
    if (bad.length === 0) return null;
    return bad.map((t) => `token "${t.name}" is ${t.state} (${t.reason})`).join("; ");
  }

  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        this.#listeners.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#listeners.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Calls `listener` after every change of any token; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** Looks at every token again now. */
  pokeAll(): void {
    for (const monitor of this.#monitors.values()) monitor.poke();
  }

  /** Stops every monitor. */
  async close(): Promise<void> {
    await Promise.all([...this.#monitors.values()].map((m) => m.close()));
    this.#monitors.clear();
    this.#notify();
  }

  #changed(status: TokenStatus, previous: { state: TokenStatus["state"] }): void {
    if (status.state !== previous.state) {
      this.#deps.events?.append({
        kind: "agent",
        reason: `token ${status.name}: ${previous.state} → ${status.state} (${status.reason})`,
      });
    }
    this.#notify();
  }

  #notify(): void {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of [...listeners, ...this.#subscribers]) listener();
  }
}

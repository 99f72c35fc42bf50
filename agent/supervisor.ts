/**
 * The set of supervised scripts of one agent: applies a config (start what
 * was added, stop what was removed, restart what changed, leave the rest
 * alone) and answers for all of them.
 */
import { getLogger } from "@logtape/logtape";
import type { ResolvedAgentConfig, ResolvedScript } from "./config_types.ts";
import { type RunnerDeps, ScriptRunner } from "./script_runner.ts";
import type { ScriptStatus } from "./script_state.ts";

/** A control request named a script the config does not have. */
export class UnknownScriptError extends Error {
  override name = "UnknownScriptError";
}

/** What `apply()` did. */
export interface ApplyResult {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

const log = getLogger(["scriptmon", "supervisor"]);

/** Supervises every script of the current config. */
export class Supervisor {
  #deps: RunnerDeps;
  #runners = new Map<string, ScriptRunner>();

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  /** Brings the running set in line with `config`; see the module comment. */
  async apply(config: ResolvedAgentConfig): Promise<ApplyResult> {
    const result: ApplyResult = { added: [], removed: [], changed: [], unchanged: [] };
    const next = config.scripts;
    const stops: Promise<void>[] = [];
    for (const [name, runner] of this.#runners) {
      if (!(name in next)) {
        result.removed.push(name);
        this.#runners.delete(name);
        stops.push(runner.dispose("removed from the config"));
      }
    }
    await Promise.all(stops);
    const starts: Promise<void>[] = [];
    for (const [name, script] of Object.entries(next)) {
      const current = this.#runners.get(name);
      if (current && sameScript(current.config, script)) {
        result.unchanged.push(name);
        continue;
      }
      if (current) {
        result.changed.push(name);
        starts.push(current.dispose("changed in the config").then(() => this.#add(script)));
      } else {
        result.added.push(name);
        starts.push(this.#add(script));
      }
    }
    await Promise.all(starts);
    // Keep file order for status listings.
    this.#runners = new Map(Object.keys(next).map((n) => [n, this.#runners.get(n)!]));
    if (result.added.length + result.removed.length + result.changed.length > 0) {
      log.info("Config applied: {summary}", { summary: summarize(result) });
    }
    return result;
  }

  async #add(script: ResolvedScript): Promise<void> {
    const runner = new ScriptRunner(script, this.#deps);
    this.#runners.set(script.name, runner);
    if (script.enabled) await runner.start();
  }

  /** The runner of `name`; throws UnknownScriptError. */
  get(name: string): ScriptRunner {
    const runner = this.#runners.get(name);
    if (!runner) {
      throw new UnknownScriptError(
        `No script named "${name}" in the config (known: ${
          [...this.#runners.keys()].join(", ") || "none"
        })`,
      );
    }
    return runner;
  }

  /** Every runner, in config order. */
  runners(): ScriptRunner[] {
    return [...this.#runners.values()];
  }

  /** Status of every script, in config order. */
  status(): ScriptStatus[] {
    return this.runners().map((r) => r.status());
  }

  /** Stops every script (each within its stop_timeout, all at once) and closes logs. */
  async shutdown(): Promise<void> {
    await Promise.all(this.runners().map((r) => r.dispose()));
    this.#runners.clear();
  }
}

function sameScript(a: ResolvedScript, b: ResolvedScript): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function summarize(r: ApplyResult): string {
  const parts = [
    r.added.length ? `added ${r.added.join(", ")}` : "",
    r.removed.length ? `removed ${r.removed.join(", ")}` : "",
    r.changed.length ? `changed ${r.changed.join(", ")}` : "",
  ].filter(Boolean);
  return parts.join("; ");
}

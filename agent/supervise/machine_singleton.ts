/**
 * `singleton = "machine"` scripts: such a script runs on one agent of the
 * workstation, whichever user's, the one holding its machine claim
 * (`platform/machine_claim.ts`: an abstract Unix socket on Linux, a
 * `Global\` mutex on Windows, released by the OS when the holder dies). No
 * collector is involved.
 *
 * Every `POLL_MS` each agent looks at each of its enabled machine scripts:
 *
 * - it holds the claim: the script runs (started once per hold: a script
 *   stopped by hand while held stays stopped). A holder of a slot above the
 *   first (the lower ones held by processes that are not agents) moves down
 *   when a lower slot frees, and gives way to an agent holding a lower one;
 * - another agent holds it: the script stays (or is put) stopped, with the
 *   reason `waiting for the machine claim (held by ann, pid 4242)`;
 * - when the holder dies its claim is free at once, and the next look of
 *   another agent takes it: a takeover within `POLL_MS`.
 *
 * On shutdown the claims are released once the scripts are stopped.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import {
  type ClaimHolder,
  type HeldClaim,
  type MachineClaims,
  thisHolder,
} from "../platform/machine_claim.ts";
import type { ScriptRunner } from "./script_runner.ts";
import type { Supervisor } from "./supervisor.ts";

/** What the manager needs. */
export interface MachineSingletonDeps {
  supervisor: Supervisor;
  claims: MachineClaims;
  clock?: Clock;
  /** How often claims are looked at (default `POLL_MS`). */
  pollMs?: number;
}

/** What this agent knows of one machine script's claim. */
export interface MachineClaimStatus {
  script: string;
  held: boolean;
  /** The holder: this agent when held; another agent's user and pid where the OS tells them. */
  holder: ClaimHolder | null;
  /** Processes that are not agents holding lower slots of the claim. */
  squatters: ClaimHolder[];
}

/** How often each machine script's claim is looked at: the takeover time after a holder dies. */
export const POLL_MS = 2000;
/** With no machine script: a look now and then, in case a change did not wake the loop. */
const IDLE_POLL_MS = 60_000;

const log = getLogger(["scriptmon", "machine"]);
const ACTIVE = new Set(["starting", "running", "backoff", "crash-looping", "waiting-for-token"]);

interface Claim {
  runner: ScriptRunner;
  held: HeldClaim | null;
  holder: ClaimHolder | null;
  squatters: ClaimHolder[];
  started: boolean;
}

/** Takes and keeps the machine claims of machine scripts; see the module comment. */
export class MachineSingletons {
  #deps: MachineSingletonDeps;
  #clock: Clock;
  #claims = new Map<string, Claim>();
  #stop = new AbortController();
  #wake = new AbortController();
  #loop: Promise<void> | null = null;
  #ops: Promise<void> = Promise.resolve();
  #onAdded = (runner: ScriptRunner) => {
    if (this.#deps.supervisor.singletonOf(runner.config) === "machine") this.#wake.abort();
  };

  constructor(deps: MachineSingletonDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  /** Starts looking; a machine script added later is looked at at once. */
  start(): void {
    if (this.#loop) return;
    this.#deps.supervisor.singletonAdded.add(this.#onAdded);
    this.#deps.supervisor.holders.set("machine", (script) => {
      const claim = this.#claims.get(script);
      if (claim === undefined) return null;
      const here = claim.held !== null;
      const holder = here ? thisHolder() : claim.holder;
      return { here, holder: holder === null ? null : describeHolder(holder) };
    });
    this.#loop = this.#run();
  }

  /** Each machine script's claim as this agent last saw it. */
  status(): MachineClaimStatus[] {
    return [...this.#claims.entries()].map(([script, c]) => ({
      script,
      held: c.held !== null,
      holder: c.held !== null ? thisHolder() : c.holder,
      squatters: c.squatters,
    }));
  }

  /** Stops looking and starting: the caller stops the scripts, then calls `release()`. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wake.abort();
    this.#deps.supervisor.singletonAdded.delete(this.#onAdded);
    this.#deps.supervisor.holders.delete("machine");
    await this.#loop;
    await this.#ops;
  }

  /** Gives every claim up (once the scripts are stopped: another agent starts them at once). */
  async release(): Promise<void> {
    const held = [...this.#claims.values()].map((claim) => claim.held);
    for (const claim of this.#claims.values()) claim.held = null;
    await Promise.all(held.map((h) => h?.release()));
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      try {
        this.#round();
      } catch (error) {
        log.error("Machine claim round failed: {error}", { error });
      }
      if (stop.aborted) break;
      this.#wake = new AbortController();
      // With no machine script there is nothing to look at until one is added (which wakes it).
      const idle = this.#claims.size === 0 && !this.#deps.supervisor.applying;
      await this.#clock.sleep(
        idle ? IDLE_POLL_MS : this.#deps.pollMs ?? POLL_MS,
        AbortSignal.any([stop, this.#wake.signal]),
      );
    }
  }

  #round(): void {
    const { supervisor } = this.#deps;
    // A script being replaced or removed is still stopping: its claim is kept until it is down.
    if (supervisor.applying) return;
    const runners = supervisor.runners().filter((r) =>
      supervisor.singletonOf(r.config) === "machine" && r.config.enabled
    );
    const names = new Set(runners.map((r) => r.name));
    for (const [script, claim] of this.#claims) {
      if (names.has(script)) continue;
      this.#claims.delete(script);
      void claim.held?.release();
    }
    for (const runner of runners) {
      try {
        this.#look(runner);
      } catch (error) {
        log.error("Machine claim of {script} failed: {error}", { script: runner.name, error });
      }
    }
  }

  #look(runner: ScriptRunner): void {
    let claim = this.#claims.get(runner.name);
    if (claim === undefined) {
      claim = { runner, held: null, holder: null, squatters: [], started: false };
      this.#claims.set(runner.name, claim);
    } else if (claim.runner !== runner) {
      // Replaced by a reload: the claim goes on, the new runner is started if held.
      claim.runner = runner;
      claim.started = false;
    }
    // The first slot cannot be lost while held; a later one gives way to an agent below it.
    if (claim.held?.slot === 0) return this.#gained(claim);
    const attempt = this.#deps.claims.claim(runner.name);
    claim.squatters = attempt.squatters;
    if (attempt.held !== null) {
      if (claim.held === null || attempt.held.slot < claim.held.slot) {
        void claim.held?.release();
        claim.held = attempt.held;
      } else if (attempt.held !== claim.held) {
        // Windows hands an owned mutex out again: the slot held already.
        void attempt.held.release();
      }
      return this.#gained(claim);
    }
    const holder = attempt.holder;
    if (claim.held !== null && (holder === null || holder.pid === Deno.pid)) {
      // Our own slot, the ones below it still squatted.
      return this.#gained(claim);
    }
    if (claim.held !== null) {
      log.warn("An agent holds a lower slot of the machine claim of {script}: giving way", {
        script: runner.name,
      });
      void claim.held.release();
      claim.held = null;
    }
    claim.holder = holder;
    this.#waiting(claim);
  }

  #gained(claim: Claim): void {
    const { runner } = claim;
    this.#deps.supervisor.setWaiting(runner, null);
    if (claim.started) return;
    claim.started = true;
    const squatted = claim.squatters.length > 0
      ? ` (slot ${claim.held?.slot}: the lower ones are held by processes that are not agents: ${
        claim.squatters.map(describeHolder).join(", ")
      })`
      : "";
    log.info("Holding the machine claim of {script}: starting it{squatted}", {
      script: runner.name,
      squatted,
    });
    this.#serial(() => claim.held !== null && claim.started ? runner.start() : Promise.resolve());
  }

  #waiting(claim: Claim): void {
    const { runner } = claim;
    const reason = waitingReason(claim.holder, claim.squatters);
    const wasStarted = claim.started;
    claim.started = false;
    this.#deps.supervisor.setWaiting(runner, reason);
    if (wasStarted || ACTIVE.has(runner.state)) {
      log.info("{script} runs on another agent of this machine: stopping it here", {
        script: runner.name,
      });
      this.#serial(() => runner.stop(reason));
    }
  }

  #serial(op: () => Promise<void>): void {
    this.#ops = this.#ops.then(op).catch((error) =>
      log.error("Machine claim start or stop failed: {error}", { error })
    );
  }
}

/** `ann, pid 4242`, `uid 1001, pid 77`, or `another agent of this machine`. */
export function describeHolder(holder: ClaimHolder): string {
  const who = holder.user ?? (holder.uid !== null ? `uid ${holder.uid}` : null);
  if (who === null && holder.pid === null) return "another agent of this machine";
  return [who, holder.pid !== null ? `pid ${holder.pid}` : null].filter(Boolean).join(", ");
}

/** The reason a machine script shows while another agent holds its claim. */
export function waitingReason(holder: ClaimHolder | null, squatters: ClaimHolder[]): string {
  if (holder !== null) return `waiting for the machine claim (held by ${describeHolder(holder)})`;
  return `waiting for the machine claim: every slot is held by a process that is not an agent (${
    squatters.map(describeHolder).join("; ")
  })`;
}

/**
 * Site leases of `singleton = "site"` scripts: such a script runs only on
 * the agent of its site that holds its lease at the collector
 * (`POST /api/v1/leases/<script>`). For each enabled singleton script the
 * manager asks for the lease, and renews it every third of
 * `collector.lease_ttl`:
 *
 * - it holds the lease: it starts the script (once per hold: a script
 *   stopped by hand while held stays stopped);
 * - another agent holds it: the script stays (or is put) stopped, with the
 *   reason `waiting for the site lease (held by BFI4/ws-07 until ...)`;
 * - no answer (collector unreachable, refused, timed out): a holder keeps
 *   the script running until its own lease would expire, then stops it; a
 *   non-holder never starts it.
 *
 * A script started by hand (or by a remote command) on an agent that does
 * not hold its lease is stopped again at the next renewal.
 *
 * With `replicas = N` the lease has N slots and the manager asks for any one
 * (at most one per agent, the collector sees to it), names its slot when it
 * renews or releases, and starts its copy with `SCRIPTMON_REPLICA` (the slot,
 * from 0) and `SCRIPTMON_REPLICAS` (N); a copy whose slot changes is restarted
 * with the new ones. Holding, losing and the local expiry work per slot as for
 * one lease. An agent without a slot asks again every round, so it takes over
 * a slot that expires. `replicas` is sent only when N > 1: a collector from
 * before replicas keeps serving scripts with one copy.
 *
 * The holder counts its lease from when it sent the request that got it,
 * by its own clock. Unless a renewal is answered first, it begins stopping
 * the script at `sentAt + ttl - stop_timeout - 1 s` (not before `sentAt`), so
 * that even a script ignoring SIGTERM is killed before the collector, which
 * counts from when it received the request, lets another agent take over;
 * held leases are renewed (and their requests time out) often enough for
 * that, a quarter of this budget. A script whose stop_timeout leaves no
 * budget is stopped as soon as a renewal fails (a warning says lease_ttl
 * should exceed its stop_timeout when it does not). Such a stop
 * runs at once, never queued behind another script's start. All leases are
 * renewed in parallel, each request with its own timeout. On shutdown the
 * leases are released once the scripts are stopped.
 *
 * @module
 */
import { collectorEndpoints, isReplicaFailure } from "../uplink/endpoints.ts";
import { getLogger } from "@logtape/logtape";
import {
  type LeaseRequest,
  type LeaseResponse,
  leaseResponseSchema,
} from "../../shared/protocol.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { ResolvedCollectorLink } from "../../shared/agent_config/types.ts";
import type { ScriptRunner } from "./script_runner.ts";
import type { Supervisor } from "./supervisor.ts";
import { formatDuration } from "../../shared/config/units.ts";
import {
  holderText,
  replicaEnv,
  replicasOf,
  type SlotFields,
  slotFields,
  waitingReason,
} from "./_lease_slot.ts";

export { waitingReason };

/** What the lease manager needs. */
export interface SiteLeaseDeps {
  config: ResolvedCollectorLink;
  supervisor: Supervisor;
  /** This agent's host name (sent as `?host=`: a lease may be asked for before the first ingest). */
  host: string;
  /** Default the global fetch. */
  fetch?: typeof fetch;
  clock?: Clock;
}

/** What the agent knows of one script's lease. */
export interface SiteLeaseStatus {
  script: string;
  held: boolean;
  /** `site/host` of the holder as last answered; null when free or unknown. */
  holder: string | null;
  /** ISO time the collector gave; null when free or unknown. */
  expiresAt: string | null;
  /** Why the last request got no answer; null once one does. */
  lastError: string | null;
  /** The slot held (`SCRIPTMON_REPLICA`; 0 for a script with one copy); null when none. */
  replica: number | null;
  /** The copies asked for (`replicas`, default 1). */
  replicas: number;
}

/** One singleton script's lease as this agent sees it. */
interface Lease {
  runner: ScriptRunner;
  held: boolean;
  holder: string | null;
  expiresAt: string | null;
  lastError: string | null;
  /** The slot held; null when none. */
  replica: number | null;
  /** Each slot's holder as last answered (with replicas); null when not answered so. */
  holders: (string | null)[] | null;
  /** Aborting it disarms the local expiry of a held lease. */
  expiry: AbortController;
  /** This runner was started for the current hold. */
  started: boolean;
  /** Clock time from which an unanswered renewal stops the script at once. */
  stopAt: number;
}

/** How much earlier than strictly needed the holder starts stopping. */
const STOP_SLACK_MS = 1000;
/** The shortest renewal step (and its request timeout) a tight budget may ask for. */
const MIN_STEP_MS = 100;

const log = getLogger(["scriptmon", "lease"]);
// A script waiting for its token would start by itself once the token is valid: it is stopped too.
const ACTIVE = new Set(["starting", "running", "backoff", "crash-looping", "waiting-for-token"]);

/** Acquires and renews the site leases of singleton scripts; see the module comment. */
export class SiteLeaseManager {
  #deps: SiteLeaseDeps;
  #fetch: typeof fetch;
  #clock: Clock;
  #ttlMs: number;
  #leases = new Map<string, Lease>();
  #stop = new AbortController();
  #wake = new AbortController();
  #loop: Promise<void> | null = null;
  /** Starts, one at a time. */
  #ops: Promise<void> = Promise.resolve();
  /** Stops of lost leases, each run at once. */
  #stops = new Set<Promise<void>>();
  #onAdded = (runner: ScriptRunner) => {
    if (this.#deps.supervisor.singletonOf(runner.config) === "site") this.#wake.abort();
  };

  constructor(deps: SiteLeaseDeps) {
    this.#deps = deps;
    this.#fetch = deps.fetch ?? fetch;
    this.#clock = deps.clock ?? systemClock;
    this.#ttlMs = deps.config.leaseTtlMs;
  }

  /** Starts asking for the leases; a singleton script added later is asked for at once. */
  start(): void {
    if (this.#loop) return;
    this.#deps.supervisor.singletonAdded.add(this.#onAdded);
    this.#deps.supervisor.holders.set("site", (script) => {
      const lease = this.#leases.get(script);
      return lease === undefined
        ? null
        : { here: lease.held, holder: holderText(lease, lease.runner.config) };
    });
    this.#loop = this.#run();
  }

  /** What this agent knows of each singleton script's lease. */
  status(): SiteLeaseStatus[] {
    return [...this.#leases.entries()].map(([script, l]) => ({
      script,
      held: l.held,
      holder: l.holder,
      expiresAt: l.expiresAt,
      lastError: l.lastError,
      replica: l.held ? l.replica : null,
      replicas: replicasOf(l.runner.config),
    }));
  }

  /**
   * Stops renewing and starting (scripts are left as they are: the caller
   * stops them), then, with `release`, gives every held lease up.
   */
  async close(options: { release: boolean }): Promise<void> {
    this.#stop.abort();
    this.#wake.abort();
    this.#deps.supervisor.singletonAdded.delete(this.#onAdded);
    this.#deps.supervisor.holders.delete("site");
    await this.#loop;
    await this.#ops;
    await Promise.all(this.#stops);
    for (const [script, lease] of this.#leases) {
      lease.expiry.abort();
      if (!options.release || !lease.held) continue;
      lease.held = false;
      try {
        await this.#ask(script, "release", null, {
          slot: slotFields(lease.runner.config, lease.replica, "release"),
        });
        log.info("Released the site lease of {script}", { script });
      } catch (error) {
        log.warn("Cannot release the site lease of {script} ({error}); it expires by itself", {
          script,
          error: errorText(error),
        });
      }
    }
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      try {
        await this.#round();
      } catch (error) {
        // A bug must not end the renewals.
        log.error("Site lease round failed: {error}", { error });
      }
      if (stop.aborted) break;
      this.#wake = new AbortController();
      await this.#clock.sleep(this.#cadenceMs(), AbortSignal.any([stop, this.#wake.signal]));
    }
  }

  /** One request per enabled singleton script; forgets (and releases) the ones gone. */
  async #round(): Promise<void> {
    const { supervisor } = this.#deps;
    const runners = supervisor.runners().filter((r) =>
      supervisor.singletonOf(r.config) === "site" && r.config.enabled
    );
    const names = new Set(runners.map((r) => r.name));
    for (const [script, lease] of this.#leases) {
      if (names.has(script)) continue;
      this.#leases.delete(script);
      lease.expiry.abort();
      if (lease.held) {
        await this.#ask(script, "release", null, {
          slot: slotFields(lease.runner.config, lease.replica, "release"),
        })
          .catch(() => {});
      }
    }
    if (this.#stop.signal.aborted) return;
    // In parallel: with several scripts and a slow collector a round must still fit the ttl.
    await Promise.allSettled(runners.map((runner) => this.#renew(runner)));
  }

  /**
   * How long after `sentAt` a held lease of `runner` may go unrenewed: the
   * stop (stop_timeout, then the kill) must end before the ttl. Zero or less
   * when stop_timeout leaves no room: the script is stopped when a renewal fails.
   */
  #budgetMs(runner: ScriptRunner): number {
    return this.#ttlMs - runner.config.stopTimeoutMs - STOP_SLACK_MS;
  }

  /** A held lease is renewed and answered well within its budget. */
  #stepMs(runner: ScriptRunner): number | null {
    const budget = this.#budgetMs(runner);
    return budget > 0 ? Math.max(MIN_STEP_MS, budget / 4) : null;
  }

  /** The wait between rounds: a third of the ttl, shorter while a held lease needs it. */
  #cadenceMs(): number {
    let ms = this.#ttlMs / 3;
    for (const lease of this.#leases.values()) {
      const step = lease.held ? this.#stepMs(lease.runner) : null;
      if (step !== null) ms = Math.min(ms, step);
    }
    return ms;
  }

  async #renew(runner: ScriptRunner): Promise<void> {
    const script = runner.name;
    let lease = this.#leases.get(script);
    if (lease === undefined || lease.runner !== runner) {
      lease?.expiry.abort();
      if (lease === undefined && runner.config.stopTimeoutMs >= this.#ttlMs) {
        log.warn(
          "lease_ttl ({ttl}) should exceed the stop_timeout of {script} ({stop}): " +
            "it is stopped as soon as a lease renewal fails",
          {
            ttl: formatDuration(this.#ttlMs),
            script,
            stop: formatDuration(runner.config.stopTimeoutMs),
          },
        );
      }
      lease = {
        runner,
        held: lease?.held ?? false,
        holder: lease?.holder ?? null,
        expiresAt: lease?.expiresAt ?? null,
        lastError: null,
        // A slot kept across a config change is renewed by name (and refused if N shrank past it).
        replica: lease?.replica ?? null,
        holders: lease?.holders ?? null,
        expiry: new AbortController(),
        started: false,
        stopAt: lease?.stopAt ?? 0,
      };
      this.#leases.set(script, lease);
    }
    const sentAt = this.#clock.now();
    let answer: LeaseResponse;
    try {
      const step = lease.held ? this.#stepMs(runner) : null;
      const action = lease.held ? "renew" : "acquire";
      answer = await this.#ask(script, action, this.#ttlMs, {
        stepMs: step,
        slot: slotFields(runner.config, lease.replica, action),
      });
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      this.#noAnswer(lease, errorText(error));
      return;
    }
    if (this.#stop.signal.aborted) return;
    lease.lastError = null;
    lease.holder = answer.holder;
    lease.expiresAt = answer.expiresAt;
    lease.holders = answer.holders ?? null;
    if (answer.held) this.#gained(lease, sentAt, answer.replica ?? 0);
    else this.#lost(lease, waitingReason(answer));
  }

  #gained(lease: Lease, sentAt: number, replica: number): void {
    const { runner } = lease;
    const replicas = replicasOf(runner.config);
    if (!lease.held) {
      log.info("Holding the site lease of {script}{slot}: starting it", {
        script: runner.name,
        slot: replicas > 1 ? ` (replica ${replica} of ${replicas})` : "",
      });
    }
    // Within one hold the collector keeps the slot; a new one means new environment.
    const moved = lease.held && lease.replica !== replica;
    lease.replica = replica;
    lease.held = true;
    // The local expiry: the stop (stop_timeout, then the kill) must end before
    // the collector may give the lease to another agent.
    lease.expiry.abort();
    lease.expiry = new AbortController();
    const budget = this.#budgetMs(runner);
    lease.stopAt = sentAt + Math.max(0, budget);
    const expiry = lease.expiry.signal;
    this.#clock.sleep(Math.max(0, lease.stopAt - this.#clock.now()), expiry)
      .then(() => {
        // A renewal answered meanwhile moves the expiry. With no room, a renewal failing stops.
        if (expiry.aborted || this.#stop.signal.aborted || !lease.held) return;
        if (budget > 0 || lease.lastError !== null) this.#expired(lease);
      });
    this.#deps.supervisor.setWaiting(runner, null);
    if (!lease.started) {
      lease.started = true;
      this.#serial(() => {
        if (!lease.held || !lease.started) return Promise.resolve();
        runner.runEnv = replicaEnv(runner.config, lease.replica);
        return runner.start();
      });
    } else if (moved) {
      // Also when it is stopped now (outside its hours, by hand): it starts with the slot it has.
      runner.runEnv = replicaEnv(runner.config, lease.replica);
      log.warn("The site lease of {script} moved to replica {replica}: restarting it", {
        script: runner.name,
        replica,
      });
      this.#serial(() => {
        if (!lease.held || !lease.started || !ACTIVE.has(runner.state)) return Promise.resolve();
        runner.runEnv = replicaEnv(runner.config, lease.replica);
        return runner.restart();
      });
    }
  }

  #expired(lease: Lease): void {
    const error = lease.lastError ?? "no answer";
    log.warn("The site lease of {script} expires unrenewed ({error}): stopping it", {
      script: lease.runner.name,
      error,
    });
    this.#lost(lease, `the site lease expired unrenewed (${error})`);
  }

  /** Not (or no longer) the holder: the script is kept stopped with `reason`. */
  #lost(lease: Lease, reason: string): void {
    const { runner } = lease;
    if (lease.held) {
      log.warn("Lost the site lease of {script}: stopping it ({reason})", {
        script: runner.name,
        reason,
      });
    }
    const wasStarted = lease.started;
    lease.held = false;
    lease.started = false;
    lease.replica = null;
    lease.expiry.abort();
    this.#deps.supervisor.setWaiting(runner, reason);
    // Also a script started by hand or a remote command on a non-holder.
    if (wasStarted || ACTIVE.has(runner.state)) {
      // At once, not behind other scripts' starts (the runner orders its own start and stop).
      const stopping = runner.stop(reason)
        .catch((error) => log.error("Site lease stop failed: {error}", { error }))
        .finally(() => this.#stops.delete(stopping));
      this.#stops.add(stopping);
    }
  }

  #noAnswer(lease: Lease, error: string): void {
    if (lease.lastError === null) {
      log.warn(
        "No answer about the site lease of {script} ({error}); " +
          (lease.held ? "it runs until its lease would expire" : "it stays stopped"),
        { script: lease.runner.name, error },
      );
    }
    lease.lastError = error;
    if (!lease.held) {
      this.#lost(lease, `waiting for the site lease (no answer from the collector: ${error})`);
    } else if (this.#clock.now() >= lease.stopAt) {
      this.#expired(lease);
    }
    // Else a holder keeps running: its local expiry stops it.
  }

  #serial(op: () => Promise<void>): void {
    this.#ops = this.#ops.then(op).catch((error) =>
      log.error("Site lease start failed: {error}", { error })
    );
  }

  /**
   * One lease request, answered within a third of the ttl (or collector.timeout,
   * or `stepMs`, if shorter), naming the `slot` fields when there are any.
   */
  async #ask(
    script: string,
    action: LeaseRequest["action"],
    ttlMs: number | null,
    options: { stepMs?: number | null; slot?: SlotFields } = {},
  ): Promise<LeaseResponse> {
    const stepMs = options.stepMs ?? null;
    const { config, host } = this.#deps;
    const timeoutMs = Math.min(
      config.timeoutMs,
      Math.max(500, this.#ttlMs / 3),
      stepMs ?? Infinity,
    );
    const endpoints = collectorEndpoints(config);
    const base = endpoints.current;
    const url = new URL(
      `api/v1/leases/${encodeURIComponent(script)}?host=${encodeURIComponent(host)}`,
      base,
    );
    const abort = new AbortController();
    const done = new AbortController();
    this.#clock.sleep(timeoutMs, done.signal).then(() => {
      if (!done.signal.aborted) {
        abort.abort(new Error(`no answer within ${formatDuration(timeoutMs)}`));
      }
    });
    try {
      const res = await this.#fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${config.token}`, "content-type": "application/json" },
        body: JSON.stringify({
          action,
          ...(ttlMs === null ? {} : { ttlMs: Math.round(ttlMs) }),
          ...options.slot,
        }),
        signal: abort.signal,
      });
      if (!res.ok) {
        if (isReplicaFailure(res.status)) endpoints.failed(base);
        const text = (await res.text().catch(() => "")).trim().slice(0, 200);
        throw new Error(`HTTP ${res.status}${text ? `: ${text}` : ""}`);
      }
      return leaseResponseSchema.parse(await res.json());
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("HTTP "))) endpoints.failed(base);
      if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason;
      throw error;
    } finally {
      done.abort();
    }
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

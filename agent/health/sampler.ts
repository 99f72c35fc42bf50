/**
 * Samples resources on one timer for the whole agent: one process-table
 * snapshot per interval feeds every script's monitor, and the agent checks
 * its own memory and the free disk of its data and log folders.
 *
 * The process table (a read of every `/proc/<pid>/stat`, most of an idle
 * agent's work) is read on the timer only while something uses it at that
 * pace (`needsTable`: a script with limits, a collector that charts the
 * samples); otherwise a status request reads it (`fresh()`), so that `status`
 * still shows each script's memory.
 */
import { statfs } from "node:fs/promises";
import { getLogger } from "@logtape/logtape";
import { formatBytes } from "../../shared/config/units.ts";
import type { AgentResources } from "../local_api/status.ts";
import type { Clock } from "../clock.ts";
import type { ResolvedAgentSettings } from "../../shared/agent_config/types.ts";
import type { Platform, ProcessSample } from "../platform/types.ts";
import { cpuUsage } from "node:process";
import { initialState, nextState } from "./check_state.ts";
import type { CheckState, HealthEvents, HealthSupervisor } from "./types.ts";

/** What the sampler needs. */
export interface SamplerDeps {
  platform: Platform;
  supervisor: HealthSupervisor;
  events: HealthEvents;
  clock: Clock;
  settings: ResolvedAgentSettings;
  /** Whether the periodic pass must read the process table (default always). */
  needsTable?: () => boolean;
}

/** A status request reads the process table again when its last read is older than this. */
export const FRESH_MS = 2000;

const log = getLogger(["scriptmon", "health", "agent"]);

/** Free bytes for an unprivileged user on the file system of `path`, or null. */
export async function diskFree(path: string): Promise<number | null> {
  try {
    const s = await statfs(path);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/**
 * Free disk is read at most this often. The call runs on a thread of Deno's blocking pool, which
 * keeps an idle thread 10 s: read on every 10 s sample, each read made two threads anew. It stays
 * asynchronous: a folder on a network share that hangs must not hang the agent.
 */
const DISK_EVERY_MS = 60_000;

/** This process's memory and CPU time without a process table. */
function ownUsage(): { rssBytes: number; cpuSeconds: number } {
  const cpu = cpuUsage();
  return { rssBytes: Deno.memoryUsage().rss, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** The agent's resource sampler; see the module comment. */
export class ResourceSampler {
  #deps: SamplerDeps;
  #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #resources: AgentResources | null = null;
  #checks = new Map<string, CheckState>();
  /** When the process table was last read (clock ms); null: never. */
  #tableAt: number | null = null;
  #reading: Promise<unknown> | null = null;
  /** The last free-disk reading and when it was taken (clock ms). */
  #disk: { path: string; freeBytes: number | null }[] | null = null;
  #diskAt = 0;

  constructor(deps: SamplerDeps) {
    this.#deps = deps;
  }

  /** The last sample of the agent's own resources. */
  get resources(): AgentResources | null {
    return this.#resources;
  }

  /** Agent-wide checks: "agent-memory" (when memory_warn is set) and "disk:<path>". */
  checks(): CheckState[] {
    return [...this.#checks.values()];
  }

  /** Takes a first sample now, then one every sample_interval. */
  start(): void {
    this.#loop ??= (async () => {
      const { clock, settings } = this.#deps;
      while (!this.#stop.signal.aborted) {
        await this.sampleOnce().catch((error) =>
          log.error("Resource sample failed: {error}", { error })
        );
        await clock.sleep(settings.sampleIntervalMs, this.#stop.signal);
      }
    })();
  }

  /**
   * Makes the scripts' samples at most `FRESH_MS` old (for a status request):
   * reads the process table unless the timer did just now.
   */
  async fresh(): Promise<void> {
    const { clock } = this.#deps;
    if (this.#tableAt !== null && clock.now() - this.#tableAt < FRESH_MS) return;
    this.#reading ??= this.#readTable().finally(() => this.#reading = null);
    await this.#reading;
  }

  async #readTable(): Promise<ProcessSample[]> {
    const { platform, supervisor, clock } = this.#deps;
    const table = await platform.processTable();
    this.#tableAt = clock.now();
    supervisor.sample(table, this.#tableAt);
    return table;
  }

  /** One sample of everything (the process table only when `needsTable` says so). */
  async sampleOnce(): Promise<void> {
    const { clock, settings } = this.#deps;
    const table = this.#deps.needsTable?.() === false ? null : await this.#readTable();
    const now = clock.now();
    const self = table?.find((p) => p.pid === Deno.pid) ?? ownUsage();
    const paths = [...new Set([settings.dataDir, settings.logDir])];
    if (this.#disk === null || now - this.#diskAt >= DISK_EVERY_MS) {
      this.#disk = await Promise.all(
        paths.map(async (path) => ({ path, freeBytes: await diskFree(path) })),
      );
      this.#diskAt = now;
    }
    const disk = this.#disk;
    this.#resources = {
      at: new Date(now).toISOString(),
      rssBytes: self.rssBytes,
      cpuSeconds: self.cpuSeconds,
      disk,
    };
    if (settings.memoryWarnBytes !== undefined) {
      const rss = this.#resources.rssBytes;
      const over = rss > settings.memoryWarnBytes;
      this.#set("agent-memory", now, {
        status: over ? "warning" : "ok",
        reason: `agent RSS ${formatBytes(rss)} ${over ? "over" : "within"} memory_warn ${
          formatBytes(settings.memoryWarnBytes)
        }`,
        value: rss,
        threshold: settings.memoryWarnBytes,
      });
    }
    for (const { path, freeBytes } of disk) {
      if (freeBytes === null) continue;
      const low = freeBytes < settings.diskWarnBytes;
      this.#set(`disk:${path}`, now, {
        status: low ? "warning" : "ok",
        reason: `${formatBytes(freeBytes)} free on ${path} (disk_warn ${
          formatBytes(settings.diskWarnBytes)
        })`,
        value: freeBytes,
        threshold: settings.diskWarnBytes,
      });
    }
  }

  #set(
    name: string,
    at: number,
    update: { status: CheckState["status"]; reason: string; value: number; threshold: number },
  ): void {
    const previous = this.#checks.get(name) ?? initialState(name, at, update.threshold);
    const state = nextState(previous, { ...update, at });
    this.#checks.set(name, state);
    if (previous.status === state.status) return;
    this.#deps.events.append({
      kind: "check",
      check: name,
      status: state.status,
      previous: previous.status,
      reason: state.reason,
      value: state.value,
      threshold: state.threshold,
      alert: state.status === "warning" || previous.status === "warning",
    });
    if (state.status === "warning") log.warn(state.reason);
  }

  /** Stops sampling. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}

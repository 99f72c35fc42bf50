/**
 * The daemon (`scriptmon-agent run`): holds the data dir's lock, supervises
 * the config's scripts, serves the local API, reloads the config when the
 * file changes, and shuts everything down cleanly.
 */
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { createApi } from "./local_api/api.ts";
import type { AgentInfo } from "./local_api/status.ts";
import { type Clock, systemClock } from "./clock.ts";
import { CollectorLink } from "./uplink/collector_link.ts";
import { ConfigError, loadConfig } from "./config/load.ts";
import { CentralLayers } from "./config/central.ts";
import { storeKey } from "../shared/config/store_key.ts";
import type { CentralConfigWire } from "../shared/protocol.ts";
import type { ResolvedAgentConfig } from "../shared/agent_config/types.ts";
import { ConfigWatcher } from "./config/watcher.ts";
import { EventLog } from "./supervise/event_log.ts";
import { ResourceSampler } from "./health/sampler.ts";
import { Notifier } from "./notify/notifier.ts";
import { Retention } from "./retention.ts";
import { readCaCerts } from "./config/ca_certs.ts";
import { acquireInstanceLock, readLockHolder } from "./supervise/instance_lock.ts";
import { openAgentStore, STORE_FILE } from "./kv.ts";
import { platform as defaultPlatform } from "./platform/mod.ts";
import type { Platform } from "./platform/types.ts";
import { ensureControlSecret } from "./local_api/control_secret.ts";
import { SiteClaims } from "./notify/site_claim.ts";
import { SiteLeaseManager } from "./supervise/site_lease.ts";
import { MachineSingletons } from "./supervise/machine_singleton.ts";
import type { MachineClaims } from "./platform/machine_claim.ts";
import type { MachineDedupe } from "./notify/machine_dedupe.ts";
import { Supervisor } from "./supervise/supervisor.ts";
import { removeStalePidRecords } from "./supervise/pid_records.ts";
import { TokenManager } from "./tokens/manager.ts";
import { VERSION } from "./version.ts";

/** How to start the daemon. */
export interface AgentOptions {
  config: ResolvedAgentConfig;
  platform?: Platform;
  clock?: Clock;
  /** Watch the config file and reload on change (default true). */
  watch?: boolean;
  /** How notifications reach the providers and the link its collector (default the global fetch). */
  fetch?: typeof fetch;
  /** `"machine"`: scripts without a `singleton` key run on one agent of the machine (`run --at-logon`). */
  defaultSingleton?: "machine";
  /** The workstation's claims (default this OS's; null: none, machine scripts run here). */
  machineClaims?: MachineClaims | null;
  /** How often machine claims are looked at (default 2 s). */
  machinePollMs?: number;
  /** Machine-scope dedupe of relayed posts (default this OS's; null: none). */
  machineDedupe?: MachineDedupe | null;
}

/** A running daemon. */
export interface Agent {
  /** The local API's port on 127.0.0.1. */
  readonly apiPort: number;
  readonly supervisor: Supervisor;
  readonly events: EventLog;
  readonly notifier: Notifier;
  /** The link to the collector, when the config has a `[collector]` table. */
  readonly collector: CollectorLink | null;
  /** The site leases of `singleton = "site"` scripts, when there is a `[collector]` table. */
  readonly leases: SiteLeaseManager | null;
  /** The machine claims of `singleton = "machine"` scripts (null where the OS has none). */
  readonly machine: MachineSingletons | null;
  /** The `[tokens.*]` and the gate in front of the scripts that use them. */
  readonly tokens: TokenManager;
  /** Re-reads the config file and applies what changed; a bad file keeps the old config. */
  reload(): Promise<void>;
  /** Stops every script within its timeout, flushes, releases the lock. Idempotent. */
  shutdown(): Promise<void>;
  /** Kills every script's tree at once (a second Ctrl-C), then shuts down. */
  killNow(): Promise<void>;
  /** The last failed reload, if any. */
  info(): AgentInfo;
}

const log = getLogger(["scriptmon", "agent"]);
/** How long the daemon waits for a `once` pass that holds the data dir's lock. */
const ONCE_WAIT_MS = 60_000;

/** Starts the daemon; resolves once every enabled script has been started or adopted. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  let config = options.config;
  const platform = options.platform ?? defaultPlatform;
  const clock = options.clock ?? systemClock;
  const { dataDir, logDir } = config.agent;
  const pidDir = join(dataDir, "pids");
  await Deno.mkdir(pidDir, { recursive: true });
  await Deno.mkdir(logDir, { recursive: true });

  // A `once` pass holds the lock for seconds: wait for it rather than fail.
  const holder = await readLockHolder(dataDir);
  const lock = await acquireInstanceLock(dataDir, {
    mode: "run",
    waitMs: holder?.mode === "once" ? ONCE_WAIT_MS : 0,
  });
  // Takes this agent's scripts' whole trees down if it dies without stopping them (only once
  // the lock is ours: the records of the data dir are then this agent's).
  const guard = await platform.guardTrees(pidDir);
  const kv = await openAgentStore(dataDir).catch(async (error) => {
    await guard?.stop();
    await lock.release();
    throw error;
  });
  let collector: CollectorLink | null = null;
  // The central config the collector hands out, kept in the store for starts without it.
  const central = config.collector
    ? new CentralLayers({ kv, key: await storeKey(dataDir, Deno), onOffer: () => void reload() })
    : null;
  const events = await EventLog.open(kv, {
    onError: (error) => log.error("Cannot store events in KV: {error}", { error }),
    // Events the collector has not acked yet are never pruned (the link bounds them).
    ...(config.collector ? { keepAfter: () => collector?.ackedSeq ?? 0 } : {}),
  });
  await central?.load();
  if (central?.candidate) {
    // The version last applied: the agent starts with it while the collector is away.
    try {
      const { loaded, applied } = await loadWithCentral(config, central, events, {
        atStart: true,
      });
      config = { ...loaded.config, agent: config.agent };
      if (applied !== null) await central.accept(applied);
    } catch (error) {
      log.error("The config file no longer loads with the stored central config: {error}", {
        error,
      });
    }
  }
  let apiPort = 0;
  const tokens = new TokenManager({ clock, kv, events });
  const supervisor = new Supervisor({
    platform,
    events,
    clock,
    pidDir,
    logDir,
    tokens,
    scriptEnv: (name) => ({
      SCRIPTMON_PING_URL: `http://127.0.0.1:${apiPort}/ping/${encodeURIComponent(name)}`,
      SCRIPTMON_SCRIPT: name,
    }),
  });
  supervisor.defaultSingleton = options.defaultSingleton;
  const claims = options.machineClaims === undefined
    ? await (await import("./platform/machine_claim.ts")).systemMachineClaims()
    : options.machineClaims;
  supervisor.machineClaims = claims !== null;
  const startedAt = new Date().toISOString();
  let configError: AgentInfo["configError"] = null;

  const sampler = new ResourceSampler({
    platform,
    supervisor,
    events,
    clock,
    settings: config.agent,
    // The collector charts every sample, limits judge every sample; else a status request reads.
    needsTable: () =>
      config.collector !== undefined ||
      Object.values(config.scripts).some((s) => s.health.limits !== undefined),
  });
  const retention = new Retention({
    kv,
    clock,
    historyMs: () => config.agent.historyMs,
    path: join(dataDir, STORE_FILE),
    logs: { dir: logDir, maxBytes: () => config.agent.logDirMaxBytes },
    staleRecords: () =>
      removeStalePidRecords(pidDir, (script) => Object.hasOwn(config.scripts, script), platform),
  });
  const info = (): AgentInfo => ({
    version: VERSION,
    pid: Deno.pid,
    site: config.agent.site,
    host: config.agent.host,
    configPath: config.path,
    envName: config.envName ?? null,
    startedAt,
    configError,
    resources: sampler.resources,
    checks: sampler.checks(),
    collector: collector?.status() ?? null,
    ...(central === null ? {} : { central: central.state() }),
    store: retention.usage,
  });
  let released = false;
  const readiness = async () => {
    const timeout = new AbortController();
    const kvOk = await Promise.race([
      kv.get(["readyz"]).then(() => true, () => false),
      clock.sleep(1000, timeout.signal).then(() => false),
    ]);
    timeout.abort();
    return { config: true, kv: kvOk, lock: !released && lock.holder.pid === Deno.pid };
  };

  let reloading = Promise.resolve();
  let closingDown = false;
  const reload = () => {
    reloading = reloading.then(async () => {
      if (closingDown) return;
      let loaded: { config: ResolvedAgentConfig; caCerts: Record<string, string[]> };
      let applied: CentralConfigWire | null;
      try {
        ({ loaded, applied } = await loadWithCentral(config, central, events, {
          atStart: false,
        }));
      } catch (error) {
        const issues = error instanceof ConfigError ? error.issues : [];
        const message = error instanceof Error ? error.message : String(error);
        configError = { at: new Date().toISOString(), message, issues };
        log.error("Config reload failed; keeping the running config.\n{message}", { message });
        events.append({ kind: "config", reason: `reload failed: ${message}` });
        return;
      }
      const next = loaded.config;
      configError = null;
      warnAgentChanges(config, next);
      // Tokens first: a script that needs a new token is gated on its first check.
      await tokens.apply(next.tokens);
      const result = await supervisor.apply({ ...next, agent: config.agent });
      config = { ...next, agent: config.agent };
      notifier.reconfigure(config, loaded.caCerts);
      if (applied !== null) await central!.accept(applied);
      events.append({
        kind: "config",
        reason: `reloaded${applied === null ? "" : ` with central config v${applied.version}`}: ` +
          `${result.added.length} added, ${result.removed.length} removed, ` +
          `${result.changed.length} changed, ${result.unchanged.length} unchanged`,
      });
    }).catch((error) => {
      // The chain must go on: a failed apply leaves the scripts as they are, reported.
      log.error("Applying the reloaded config failed: {error}", { error });
      events.append({ kind: "config", reason: `reload failed while applying: ${error}` });
    });
    return reloading;
  };

  const machineDedupe = options.machineDedupe === undefined
    ? await (await import("./notify/machine_dedupe.ts")).systemMachineDedupe()
    : options.machineDedupe;
  const notifier = new Notifier({
    kv,
    config,
    supervisor,
    events,
    clock,
    info,
    tokens,
    fetch: options.fetch,
    caCerts: await readCaCerts(config),
    ...(machineDedupe ? { machineClaims: machineDedupe } : {}),
    ...(config.collector
      ? {
        siteClaims: new SiteClaims({
          config: config.collector,
          host: config.agent.host,
          clock,
          fetch: options.fetch,
        }),
      }
      : {}),
  });
  // Made before the API serves, so that the status shows the link from the first answer on;
  // it starts once the scripts are applied.
  if (config.collector) {
    collector = new CollectorLink({
      config: config.collector,
      kv,
      events,
      supervisor,
      info,
      tokens: () => tokens.status(),
      ...(central === null ? {} : { central }),
      clock,
      fetch: options.fetch,
    });
  }
  const secret = await ensureControlSecret(dataDir);
  const app = createApi({
    supervisor,
    fresh: async () => {
      await Promise.all([sampler.fresh(), retention.fresh()]);
    },
    info,
    readiness,
    secret,
    reload,
    notifier,
    tokens: () => tokens.status(),
  });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: config.agent.apiPort,
    onListen: () => {},
  }, app.fetch);
  apiPort = server.addr.port;
  await lock.updateInfo({ apiPort });
  log.info("Agent {version} started (pid {pid}, site {site}); local API on 127.0.0.1:{port}", {
    version: VERSION,
    pid: Deno.pid,
    site: config.agent.site,
    port: apiPort,
  });
  events.append({ kind: "agent", reason: `agent started (pid ${Deno.pid})` });

  await notifier.start();
  await tokens.apply(config.tokens);
  await supervisor.apply(config);
  sampler.start();
  retention.start();
  await collector?.start();
  // Singleton scripts were not started by the supervisor: the lease manager starts them.
  const leases = config.collector
    ? new SiteLeaseManager({
      config: config.collector,
      supervisor,
      host: config.agent.host,
      clock,
      fetch: options.fetch,
    })
    : null;
  leases?.start();
  const machine = claims === null
    ? null
    : new MachineSingletons({ supervisor, claims, clock, pollMs: options.machinePollMs });
  machine?.start();
  const watcher = options.watch === false ? null : new ConfigWatcher(config.path, () => reload());
  await watcher?.ready;

  let closing: Promise<void> | null = null;
  const shutdown = () => {
    closing ??= (async () => {
      log.info("Agent shutting down: stopping {n} script(s)", { n: supervisor.runners().length });
      closingDown = true;
      watcher?.close();
      // No new control request or reload may start a script while they are being stopped.
      await server.shutdown();
      await collector?.close();
      await reloading;
      await sampler.close();
      await retention.close();
      await machine?.close();
      await supervisor.shutdown();
      await guard?.stop();
      await tokens.close();
      await leases?.close({ release: true }); // only once the scripts are stopped
      await machine?.release();
      await notifier.close();
      await machineDedupe?.close();
      events.append({ kind: "agent", reason: "agent stopped" });
      await events.flush();
      kv.close();
      released = true;
      await lock.release();
    })();
    return closing;
  };
  const killNow = async () => {
    log.warn("Stopping at once: killing every script's process tree");
    const kills = await Promise.allSettled(
      supervisor.status().filter((s) => s.pid).map((s) => platform.killTree(s.pid!)),
    );
    for (const k of kills) {
      if (k.status === "rejected") log.error("Kill failed: {error}", { error: k.reason });
    }
    await shutdown();
  };
  return {
    apiPort,
    supervisor,
    events,
    notifier,
    collector,
    leases,
    machine,
    tokens,
    reload,
    shutdown,
    killNow,
    info,
  };
}

function warnAgentChanges(current: ResolvedAgentConfig, next: ResolvedAgentConfig): void {
  const changed: string[] = (Object.keys(current.agent) as (keyof typeof current.agent)[])
    .filter((k) => current.agent[k] !== next.agent[k]).map((k) => `agent.${k}`);
  for (const table of ["collector"] as const) {
    if (JSON.stringify(current[table]) !== JSON.stringify(next[table])) changed.push(table);
  }
  if (changed.length > 0) {
    log.warn("Changes to {keys} take effect when the agent restarts", {
      keys: changed.join(", "),
    });
  }
}

/**
 * The config file loaded with the central config to try (the one just offered, else the last
 * applied), its CA certificates read. When it does not load with a newly offered version but does
 * with the last good one (or none), the version is refused (the collector hears why) and the file
 * loads without it; when the file itself is broken, or an edit clashes with the version running,
 * the error is the file's (at start, a stored version that clashes is refused instead).
 *
 * @throws {ConfigError} when the file does not load whatever central version is used.
 */
async function loadWithCentral(
  current: ResolvedAgentConfig,
  central: CentralLayers | null,
  events: EventLog,
  options: { atStart: boolean },
): Promise<{
  loaded: { config: ResolvedAgentConfig; caCerts: Record<string, string[]> };
  applied: CentralConfigWire | null;
}> {
  const load = async (layers: CentralConfigWire | null) => {
    const config = await loadConfig(current.path, {
      envName: current.envName,
      ...(layers === null ? {} : { layers: layers.layers }),
    });
    return { config, caCerts: await readCaCerts(config) };
  };
  const candidate = central?.candidate ?? null;
  try {
    return { loaded: await load(candidate), applied: candidate };
  } catch (error) {
    if (candidate === null || central === null) throw error;
    // The version running now no longer loads over an edited file: the edit is at fault and the
    // running config stays, as with any bad edit (at start, the file runs alone instead).
    if (central.applied === candidate && !options.atStart) throw error;
    const fallback = central.applied === candidate ? null : central.applied;
    const loaded = await load(fallback); // throws when the file is at fault
    const message = error instanceof Error ? error.message : String(error);
    central.refuse(candidate, message);
    log.error("Central config v{version} refused; keeping {kept}.\n{message}", {
      version: candidate.version,
      kept: fallback === null ? "the config file alone" : `v${fallback.version}`,
      message,
    });
    events.append({
      kind: "config",
      reason: `central config v${candidate.version} refused: ${message}`,
    });
    return { loaded, applied: fallback };
  }
}

/**
 * `scriptmon-collector serve`: the app on `Deno.serve` (HTTPS when a
 * certificate and key are configured), the offline timer feeding the
 * agent-offline alerts, the retention purge, and the memory it no longer
 * uses given back (`giveBackMemory`), until the signal aborts.
 *
 * @module
 */

import type { KvHandle } from "../shared/kv/handle.ts";
import { getLogger } from "@logtape/logtape";
import { CollectorAlerts, readCaCerts } from "./fleet/alerts.ts";
import { createApp } from "./app.ts";
import { CentralConfig, CentralStore } from "./central/mod.ts";
import { SiteEnvironments } from "./fleet/environments.ts";
import { checkConfigLayers } from "../shared/agent_config/mod.ts";
import { STORE_KEY_FILE, storeKey } from "../shared/config/store_key.ts";
import { KEY_ENV, KEY_FILE_ENV } from "../shared/config/secrets.ts";
import { TREND_EVERY_MS, TrendWatch } from "./fleet/trend_watch.ts";
import { ReportSchedule } from "./fleet/report_schedule.ts";
import { buildDigest } from "./fleet/digest.ts";
import { type Clock, systemClock } from "./clock.ts";
import { CommandWaiters } from "./fleet/command_waiters.ts";
import { AuditLog } from "./audit/trail.ts";
import { ConfigReloader } from "./config/reload.ts";
import type { ResolvedCollectorConfig } from "./config/load.ts";
import { type AlertStats, IngestCounters } from "./fleet/metrics.ts";
import { Leadership } from "./fleet/leader.ts";
import { Store } from "./store/store.ts";
import { storeSignals } from "./store/signals.ts";
import { PgKv } from "./store/postgres/mod.ts";
import { SAMPLE_RETENTION_MS } from "./store/history.ts";
import { pruneMessages } from "../shared/notify/outbox_prune.ts";
import { DAY_MS, rollUpDays } from "./fleet/uptime.ts";
import { UptimeCache } from "./fleet/uptime_cache.ts";
import { giveBackMemory } from "../shared/trim_memory.ts";

const log = getLogger(["scriptmon", "collector"]);

/** Every script's 24-hour uptime is recomputed this often, or ten times its last cost if longer. */
const UPTIME_EVERY_MS = 30_000;
/** A day is rolled up this long (plus offline_after) after it ended: late reports are in. */
const SETTLE_MS = 10 * 60_000;
/** How often the retention purge runs. */
const PURGE_EVERY_MS = 3_600_000;
/** How often the leader looks whether a scheduled report is due. */
const REPORT_EVERY_MS = 60_000;
/** How often the tokens' uses noted by requests are written (`lastUsedAt`). */
const TOKEN_USES_EVERY_MS = 5000;
/** Memory is given back once listening, this long after (what start-up read), then this often. */
const SETTLED_AFTER_MS = 30_000;
const GIVE_BACK_EVERY_MS = 10 * 60_000;

/** What {@linkcode serve} needs. */
export interface ServeOptions {
  config: ResolvedCollectorConfig;
  /** Opened by the caller, closed by the caller after `serve` resolves. */
  kv: KvHandle;
  /** Aborting it stops the server gracefully. */
  signal: AbortSignal;
  clock?: Clock;
  /** Called once listening, with the address (port 0 resolved). */
  onListen?: (address: { hostname: string; port: number; https: boolean }) => void;
  /** For the alert webhooks; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Reload the config file when it changes or on SIGHUP (see `config_reload.ts`). */
  watchConfig?: boolean;
  /** This collector among the replicas sharing the store; default host/pid/random. */
  replicaId?: string;
  /** Told when this collector becomes the leader of the periodic work (true) or stops (false). */
  onLeader?: (leading: boolean) => void;
}

/** Serves until `signal` aborts; resolves once every connection is closed. */
export async function serve(options: ServeOptions): Promise<void> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const store = new Store(options.kv);
  const waiters = new CommandWaiters({ max: config.maxWaiters });
  const caCerts = await readCaCerts(config);
  const trends = new TrendWatch(options.kv, store);
  const alertsFor = (config: ResolvedCollectorConfig) =>
    new CollectorAlerts({
      kv: options.kv,
      store,
      config,
      clock,
      caCerts,
      anomalies: (now) => trends.conditions(now),
      fence: (op) => leadership.fence(op),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
  // Every collector answers the alerting API (outbox, silences, routes) from the store; only the
  // leader evaluates, groups and delivers (`engine`), so that each alert goes out once.
  const control = alertsFor(config);
  await control.rules.load();
  let engine: CollectorAlerts | null = null;
  const replicaId = options.replicaId ??
    `${Deno.hostname()}/${Deno.pid}/${crypto.randomUUID().slice(0, 8)}`;
  const leadership = new Leadership(options.kv, {
    id: replicaId,
    ttlMs: config.leaderTtlMs,
    clock,
    onGain: async () => {
      // What another leader judged meanwhile is read again before the first alert pass.
      trends.forget();
      engine = alertsFor(current());
      await engine.start();
      options.onLeader?.(true);
    },
    onLose: async () => {
      const stopping = engine;
      engine = null;
      await stopping?.close();
      options.onLeader?.(false);
    },
  });
  const alerts: AlertStats = {
    firing: () => engine?.firing() ?? null,
    outboxCounts: () => control.outboxCounts(),
  };
  const counters = new IngestCounters();
  const audit = new AuditLog(options.kv, { now: () => clock.now() });
  const reloader = new ConfigReloader({
    initial: config,
    apply: (next) => {
      control.reconfigure(next);
      engine?.reconfigure(next);
    },
    // Routes, silences and webhooks are changed by editing the file: that goes on the trail.
    onReload: (outcome) =>
      void audit.append({
        actor: "collector",
        action: "config.reload",
        target: config.path,
        result: "error" in outcome ? "refused" : "ok",
        detail: "error" in outcome
          ? { reason: outcome.reason, error: outcome.error.slice(0, 300) }
          : { reason: outcome.reason, changed: outcome.changed.join(", ") },
      }).catch((error) => log.error("Cannot audit the config reload: {error}", { error })),
  });
  const current = () => reloader.current();
  const uptime = new UptimeCache(store, clock);
  const signals = storeSignals(options.kv, replicaId);
  const environments = new SiteEnvironments(store, clock);
  if (config.store.kind === "postgres" && !Deno.env.get(KEY_ENV) && !Deno.env.get(KEY_FILE_ENV)) {
    log.warn(
      "Central config secrets are sealed under {file} in this collector's data_dir: replicas " +
        "sharing the database need one key; set {env} on each",
      { file: STORE_KEY_FILE, env: KEY_ENV },
    );
  }
  const central = new CentralConfig({
    store: new CentralStore(options.kv),
    key: await storeKey(config.dataDir, Deno),
    clock,
    check: (layers) => checkConfigLayers(layers),
    environmentOf: (site) => environments.environmentOf(site),
  });
  const app = createApp({
    central,
    environments,
    signals,
    store,
    config,
    clock,
    waiters,
    counters,
    alerts,
    control,
    audit,
    uptime,
    currentConfig: current,
  });
  const tls = config.tls === undefined ? {} : {
    cert: await Deno.readTextFile(config.tls.certFile),
    key: await Deno.readTextFile(config.tls.keyFile),
  };
  const https = config.tls !== undefined;

  // While the collector was down no agent could report: each gets offline_after from this start
  // before it counts as silent, so a restart is not taken for the fleet's outage.
  const startedAt = clock.now();
  const offlineCheck = async () => {
    const { offlineAfterMs } = current();
    // Silences and routes added through any collector's API.
    await control.rules.load().catch((error) =>
      log.error("Cannot read the runtime rules: {error}", { error })
    );
    const leader = engine;
    if (leader === null || !leadership.isLeader()) return;
    if (clock.now() - startedAt < offlineAfterMs) return;
    try {
      await leader.rules.load();
      const offline = await store.markOffline(clock.now(), offlineAfterMs);
      for (const agent of offline) {
        log.warn("Agent {site}/{host} is offline: last seen {lastSeenAt}", { ...agent });
      }
      await leader.update(offline);
    } catch (error) {
      log.error("Offline check failed: {error}", { error });
    }
  };
  let purging = false;
  const purge = async () => {
    // A slow pass (a big fleet's first rollups) is not joined by the next one.
    if (purging || !leadership.isLeader()) return;
    purging = true;
    try {
      const now = clock.now();
      const config = current();
      // Whole days are rolled up before their state changes can be purged.
      const rolled = await rollUpDays(store, {
        now,
        maxDays: Math.ceil(config.retentionMs / DAY_MS),
        settleMs: config.offlineAfterMs + SETTLE_MS,
      });
      if (rolled > 0) log.info("Rolled up {rolled} script-days of uptime", { rolled });
      const purged = await store.purgeEvents(now - config.retentionMs);
      const history = await store.history.purge({
        before: now - config.retentionMs,
        samplesBefore: now - Math.min(config.retentionMs, SAMPLE_RETENTION_MS),
        rollupsBefore: now - config.rollupRetentionMs,
      });
      const audited = await audit.purge(now - config.auditRetentionMs);
      const notifications = await pruneOutbox(options.kv, now - config.retentionMs);
      const alerts = await store.alerts.purge(now - config.retentionMs);
      if (notifications + alerts > 0) {
        log.info(
          "Purged {notifications} finished notifications and {alerts} resolved alerts older than retention",
          { notifications, alerts },
        );
      }
      // PostgreSQL hides expired records (sessions, leases, claims) at once but keeps their rows;
      // a KV file removes them on its own.
      const expired = options.kv instanceof PgKv ? await options.kv.tidyAll() : 0;
      if (expired > 0) log.info("Removed {expired} expired records", { expired });
      if (audited > 0) {
        log.info("Purged {audited} audit entries older than audit_retention", { audited });
      }
      if (purged + history > 0) {
        log.info("Purged {purged} events and {history} history entries older than retention", {
          purged,
          history,
        });
      }
    } catch (error) {
      log.error("Retention purge failed: {error}", { error });
    } finally {
      purging = false;
    }
  };
  await leadership.start();
  if (options.watchConfig) await reloader.start();
  const inFlight = new Set<Promise<void>>();
  const track = (task: () => Promise<void>) => () => {
    const running = task().finally(() => inFlight.delete(running));
    inFlight.add(running);
  };
  const offlineTimer = setInterval(
    track(offlineCheck),
    Math.max(1000, Math.min(5000, config.offlineAfterMs / 3)),
  );
  const purgeTimer = setInterval(track(purge), PURGE_EVERY_MS);
  let watchingTrends = false;
  const watchTrends = async () => {
    if (watchingTrends || !leadership.isLeader()) return;
    watchingTrends = true;
    try {
      await trends.pass(clock.now());
    } catch (error) {
      log.error("Trend pass failed: {error}", { error });
    } finally {
      watchingTrends = false;
    }
  };
  const trendTimer = setInterval(track(watchTrends), TREND_EVERY_MS);
  track(watchTrends)();
  // Scheduled digests are queued by the leader, to the outbox that delivers (its engine's).
  const reports = new ReportSchedule({
    reports: () => current().reports,
    digest: (period) => buildDigest({ store, outbox: control.outbox }, period),
    enqueue: (message) => (engine ?? control).outbox.enqueue(message),
  });
  let reporting = false;
  const sendReports = async () => {
    if (reporting || !leadership.isLeader()) return;
    reporting = true;
    try {
      await reports.pass(clock.now());
    } finally {
      reporting = false;
    }
  };
  const reportTimer = setInterval(track(sendReports), REPORT_EVERY_MS);
  const writeTokenUses = async () => {
    await store.flushTokenUses().catch((error) =>
      log.error("Cannot write the tokens' last use (will retry): {error}", { error })
    );
  };
  const tokenUsesTimer = setInterval(track(writeTokenUses), TOKEN_USES_EVERY_MS);
  let uptimeTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const refreshUptime = async () => {
    const started = performance.now();
    try {
      await uptime.refresh();
    } catch (error) {
      log.error("Uptime refresh failed: {error}", { error });
    }
    // A big fleet costs more per pass: spread the passes out so that they stay cheap.
    const next = Math.max(UPTIME_EVERY_MS, 10 * (performance.now() - started));
    if (!stopped) uptimeTimer = setTimeout(track(refreshUptime), next);
  };
  track(refreshUptime)();
  track(purge)();
  const giveBack = track(() => giveBackMemory(log));
  let giveBackTimer = setTimeout(() => {
    giveBack();
    giveBackTimer = setInterval(giveBack, GIVE_BACK_EVERY_MS);
  }, SETTLED_AFTER_MS);
  const stopTimers = () => {
    reloader.close();
    clearInterval(offlineTimer);
    clearInterval(purgeTimer);
    clearInterval(trendTimer);
    clearInterval(reportTimer);
    clearInterval(tokenUsesTimer);
    clearInterval(giveBackTimer); // the first timeout or the interval: one list of timers
    stopped = true;
    clearTimeout(uptimeTimer);
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.listen.hostname,
      port: config.listen.port,
      ...tls,
      onListen: (addr) => {
        log.info("Collector listening on {scheme}://{hostname}:{port}", {
          scheme: https ? "https" : "http",
          hostname: addr.hostname,
          port: addr.port,
        });
        options.onListen?.({ hostname: addr.hostname, port: addr.port, https });
      },
    }, app.fetch);
  } catch (error) {
    stopTimers();
    await leadership.close();
    await signals.close();
    throw error;
  }
  giveBack(); // start-up is done: what it alone read goes back now, the rest once settled
  const stop = async () => {
    log.info("Collector stopping");
    stopTimers();
    waiters.closeAll(); // long-polls answer now instead of holding the shutdown
    await server.shutdown();
  };
  if (options.signal.aborted) await stop();
  else options.signal.addEventListener("abort", () => void stop(), { once: true });
  await server.finished;
  stopTimers();
  await Promise.all(inFlight);
  await writeTokenUses(); // the last requests' uses
  await leadership.close();
  await signals.close(); // the caller closes the KV next
}

/** Finished notifications created before `beforeMs`, pruned 200 at a time (at most 100,000 a pass). */
async function pruneOutbox(kv: KvHandle, beforeMs: number): Promise<number> {
  let pruned = 0;
  for (let batch = 0; batch < 500; batch++) {
    const n = await pruneMessages(kv, beforeMs, 200);
    pruned += n;
    if (n < 200) break;
  }
  return pruned;
}

/**
 * The fleet model over the store: views per site and script, alerts raised from the agents'
 * summaries, uptime, site leases and dedupe claims, pending commands and log requests, metrics,
 * erasure.
 *
 * @module
 */

export { CollectorAlerts, readCaCerts } from "./alerts.ts";
export { CommandWaiters } from "./command_waiters.ts";
export { describeCounts, eraseAgent, eraseSite, eraseUser, totalErased } from "./erasure.ts";
export type { ErasureCounts } from "./erasure.ts";
export { SiteLeases } from "./leases.ts";
export { LogRequests } from "./log_requests.ts";
export { IngestCounters, METRICS_CONTENT_TYPE, renderCollectorMetrics } from "./metrics.ts";
export type { AlertStats } from "./metrics.ts";
export { SiteDedupe } from "./site_dedupe.ts";
export { SiteEnvironments } from "./environments.ts";
export {
  bucketOf,
  DAY_MS,
  rollUpDays,
  scriptSegments,
  scriptUptime,
  UPTIME_CSV_COLUMNS,
  uptimeCsvRow,
  uptimeReport,
} from "./uptime.ts";
export type { Segment, Uptime, UptimeRow } from "./uptime.ts";
export { UptimeCache } from "./uptime_cache.ts";
export { isDown, scriptRows, siteSummaries, stoppedOnPurpose } from "./views.ts";

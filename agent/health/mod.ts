/**
 * Health checks of one script: heartbeats, output silence, HTTP/TCP/exec probes, memory and CPU,
 * and the agent's own resources and disks.
 *
 * @module
 */

export type { PingKind } from "./heartbeat.ts";
export { HealthMonitor } from "./monitor.ts";
export { runProbe } from "./probes.ts";
export { treeUsage } from "./resources.ts";
export { diskFree, ResourceSampler } from "./sampler.ts";
export {
  action,
  execProbeSchema,
  HEALTH_ACTIONS,
  HTTP_METHODS,
  httpProbeSchema,
  limitsSchema,
  PROBE_SCHEMAS,
  probeSchema,
  tcpProbeSchema,
} from "../../shared/agent_config/mod.ts";
export { foldHealth, PING_BODY_LIMIT } from "./types.ts";
export type {
  CheckState,
  CheckStatus,
  HeartbeatInfo,
  ResourceSample,
  ScriptHealth,
} from "./types.ts";

/**
 * The agent's local HTTP API on 127.0.0.1 (status, metrics, ping, relay, control), the status
 * types it serves, the status page, and the CLI's client with the control secret.
 *
 * @module
 */

export { createApi } from "./api.ts";
export { ControlClient } from "./control_client.ts";
export { ensureControlSecret } from "./control_secret.ts";
export { renderMetrics } from "./metrics.ts";
export type { AgentInfo, AgentResources, CollectorLinkStatus, StatusBody } from "./status.ts";
export { renderStatusFragment } from "./status_page.tsx";

/**
 * The REST API under /api/v1: agents' ingest and commands, the fleet, alerting, logs, reports,
 * exports and audit routes, and the OpenAPI document.
 *
 * @module
 */

export { agentRoutes } from "./agent_routes.ts";
export { alertingRoutes, scopedMessage } from "./alerting_routes.ts";
export type { AlertControl } from "./alerting_routes.ts";
export { AUDIT_CSV_COLUMNS, auditRoutes } from "./audit_routes.ts";
export { exportRoutes } from "./export_routes.ts";
export { apiRoutes } from "./fleet_routes.ts";
export { logRoutes } from "./log_routes.ts";
export { openApiDocument } from "./openapi.ts";
export { reportRoutes } from "./report_routes.ts";

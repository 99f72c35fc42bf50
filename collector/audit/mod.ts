/**
 * The audit trail: a hash-chained record of every change and sign-in, and the middleware that
 * writes it.
 *
 * @module
 */

export { auditRequests, remoteAddress } from "./http.ts";
export { AuditLog } from "./trail.ts";
export type { AuditEntry, AuditInput, AuditQuery, AuditVerdict } from "./trail.ts";

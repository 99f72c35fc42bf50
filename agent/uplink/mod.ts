/**
 * The link to the collector: heartbeats and events in order from the spool, the ingest body
 * fitted to the size limit, and the remote commands the collector sends back.
 *
 * @module
 */

export { CollectorLink } from "./collector_link.ts";
export { toScriptSummary, toTokenSummary } from "./ingest_body.ts";

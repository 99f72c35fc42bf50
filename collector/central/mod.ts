/**
 * Central config: documents for the fleet, a site or one agent, versioned in the store, checked
 * with the agent's schema, rolled out through the agents' ingest answers (`central_config.ts`,
 * `store.ts`, `scopes.ts`).
 *
 * @module
 */

export { CentralConfig, MAX_DOCUMENT_BYTES, StaleBaseError } from "./central_config.ts";
export type { ChangeOptions, CheckLayer, Proposal } from "./central_config.ts";
export { formatScope, parseScope, reaches, scopesOf } from "./scopes.ts";
export type { AgentRef, ConfigScope } from "./scopes.ts";
export { CentralStore } from "./store.ts";
export { shownUrl, WebhookEditError } from "./webhook_edit.ts";
export type { WebhookSummary } from "./webhook_edit.ts";
export type { AppliedState, ConfigVersion } from "./store.ts";

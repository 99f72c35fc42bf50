/**
 * Credentials scripts depend on (`[tokens.*]`): read, validate, refresh and warn before they
 * expire.
 *
 * @module
 */

export { TokenManager } from "./manager.ts";
export type { TokenGate } from "./manager.ts";
export { blockedBy, checkTokensOnce, timeLeft, tokenSeverity } from "./once.ts";
export { resolveToken, tokenSchema } from "../../shared/agent_config/mod.ts";
export { TOKEN_STATES } from "./types.ts";
export type { ResolvedToken, TokenState, TokenStatus } from "./types.ts";

/**
 * The workstation agent: `main.ts` parses the command line, `agent.ts` runs the daemon
 * (`startAgent`), `once.ts` one cron-style pass (`runOnce`). Each concern has its folder:
 * config/, supervise/, logs/, notify/, uplink/, local_api/, health/, tokens/, platform/.
 *
 * @module
 */

export { startAgent } from "./agent.ts";
export type { Agent } from "./agent.ts";
export { systemClock } from "./clock.ts";
export type { Clock } from "./clock.ts";
export { openAgentStore, openKv, STORE_FILE } from "./kv.ts";

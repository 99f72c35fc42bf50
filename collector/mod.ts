/**
 * The fleet server: `main.ts` parses the command line, `serve.ts` starts the server and its
 * periodic work, `app.ts` builds the Hono app. Concerns: cli/, api/, store/, auth/, audit/,
 * fleet/, config/, http/, web/.
 *
 * @module
 */

export { createApp } from "./app.ts";
export { systemClock } from "./clock.ts";
export type { Clock } from "./clock.ts";
export { serve } from "./serve.ts";
export { VERSION } from "./version.ts";

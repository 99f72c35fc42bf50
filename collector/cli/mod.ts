/**
 * The collector's command-line verbs other than `serve`: tokens, users, sessions, audit,
 * erasure, exports, secrets.
 *
 * @module
 */

export { auditCommands, recordCli } from "./audit.ts";
export { eraseCommands } from "./erase.ts";
export { exportCommands } from "./export.ts";
export { secretCommands } from "./secret.ts";
export { userSessionCommands } from "./sessions.ts";
export { apiTokenCommands, wallTokenCommands } from "./tokens.ts";
export { userCommands } from "./users.ts";

/**
 * The agent's config: the TOML file read and checked against its schema (`load.ts`,
 * `schema.ts`), resolved once into `ResolvedAgentConfig` (`types.ts`, `_resolve.ts`), watched
 * for edits (`watcher.ts`), and the CA certificates it names.
 *
 * @module
 */

export { readCaCerts } from "./ca_certs.ts";
export { commandSchema } from "./command_schema.ts";
export { ConfigError, envNameFrom, loadConfig, locateDataDir, parseConfig } from "./load.ts";
export type { ConfigIssue } from "./load.ts";
export type {
  ResolvedAction,
  ResolvedAgentConfig,
  ResolvedAgentSettings,
  ResolvedCollectorLink,
  ResolvedExecProbe,
  ResolvedHeartbeat,
  ResolvedHttpProbe,
  ResolvedLimits,
  ResolvedProbe,
  ResolvedRestartPolicy,
  ResolvedSchedule,
  ResolvedScript,
  ResolvedSilence,
  ResolvedTcpProbe,
} from "./types.ts";
export { ConfigWatcher } from "./watcher.ts";

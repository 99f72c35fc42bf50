/**
 * The agent's config: the TOML file read and checked against its schema (`load.ts`,
 * `schema.ts`), resolved once into `ResolvedAgentConfig` (`types.ts`, `_resolve.ts`), watched
 * for edits (`watcher.ts`), the CA certificates it names, and the default places of its files
 * (`default_paths.ts`).
 *
 * @module
 */

export { readCaCerts } from "./ca_certs.ts";
export { commandSchema } from "./command_schema.ts";
export { agentHome, defaultDataDir } from "./default_paths.ts";
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

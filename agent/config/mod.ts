/**
 * The agent's config: the TOML file read (`load.ts`) and parsed by the shared pipeline
 * (`shared/agent_config/`: schema, `[env.<name>]` overlay and layers, resolve once into
 * `ResolvedAgentConfig`, the default places of its files), watched for edits (`watcher.ts`), and
 * the CA certificates it names.
 *
 * @module
 */

export { readCaCerts } from "./ca_certs.ts";
export {
  agentHome,
  commandSchema,
  defaultDataDir,
  envNameFrom,
  locateDataDir,
  parseConfig,
} from "../../shared/agent_config/mod.ts";
export { ConfigError, loadConfig } from "./load.ts";
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
} from "../../shared/agent_config/mod.ts";
export { ConfigWatcher } from "./watcher.ts";

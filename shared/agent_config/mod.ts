/**
 * The agent's config, from text to `ResolvedAgentConfig`, without reading a file: the schema of
 * the TOML as written (`schema.ts`, with the health checks' `health_schema.ts`, the tokens'
 * `token_schema.ts` and commands' `command_schema.ts`), the parse pipeline with its
 * `[env.<name>]` overlay and layers (`parse.ts`, `layers.ts`), the resolved types (`types.ts`,
 * `token_types.ts`) and the default places of the agent's files (`default_paths.ts`). The agent
 * reads its file with it; the collector checks central config documents with
 * {@linkcode checkConfigLayers}, exactly as `agent validate` would.
 *
 * @module
 */

export { checkConfigLayers } from "./check_layers.ts";
export type { CheckConfigLayersOptions } from "./check_layers.ts";
export { commandSchema } from "./command_schema.ts";
export { agentHome, defaultDataDir } from "./default_paths.ts";
export {
  action,
  execProbeSchema,
  HEALTH_ACTIONS,
  HTTP_METHODS,
  httpProbeSchema,
  limitsSchema,
  PROBE_SCHEMAS,
  probeSchema,
  tcpProbeSchema,
} from "./health_schema.ts";
export { PINNED_KEYS, pinnedKeysIn } from "./layers.ts";
export type { ConfigLayer, PinnedKey } from "./layers.ts";
export { ConfigError, envNameFrom, locateDataDir, parseConfig } from "./parse.ts";
export type { ConfigIssue, ParseConfigOptions } from "./parse.ts";
export { agentConfigSchema, CONFIG_DEFAULTS } from "./schema.ts";
export type { AgentConfig, AgentConfigInput } from "./schema.ts";
export { resolveToken, TOKEN_DEFAULTS, tokenSchema } from "./token_schema.ts";
export type { TokenConfig } from "./token_schema.ts";
export { TOKEN_FORMATS } from "./token_types.ts";
export type {
  ResolvedExecValidate,
  ResolvedHttpValidate,
  ResolvedToken,
  ResolvedTokenRefresh,
  ResolvedTokenValidate,
  TokenFormat,
} from "./token_types.ts";
export type {
  ResolvedAction,
  ResolvedActive,
  ResolvedAgentConfig,
  ResolvedAgentSettings,
  ResolvedCollectorLink,
  ResolvedExecProbe,
  ResolvedHealth,
  ResolvedHeartbeat,
  ResolvedHttpProbe,
  ResolvedLimits,
  ResolvedLogSettings,
  ResolvedProbe,
  ResolvedRestartPolicy,
  ResolvedSchedule,
  ResolvedScript,
  ResolvedSilence,
  ResolvedTcpProbe,
  RestartPolicyKind,
} from "./types.ts";
export { splitWords } from "./words.ts";

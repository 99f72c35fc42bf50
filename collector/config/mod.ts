/**
 * The collector's config: its TOML file checked against its schema, `${VAR}` and `enc:v1:`
 * values, and hot reload that keeps the last good config.
 *
 * @module
 */

export { ConfigError, loadConfig, parseConfig } from "./load.ts";
export type { ResolvedCollectorConfig } from "./load.ts";
export { ConfigReloader } from "./reload.ts";

/**
 * The config toolkit of both programs: durations and sizes, `${VAR}` interpolation, `enc:v1:`
 * secrets, the config error with key path and line, the file reader.
 *
 * @module
 */

export { ConfigError } from "./config_error.ts";
export type { ConfigIssue } from "./config_error.ts";
export { readConfigFile } from "./config_file.ts";
export { interpolate } from "./interpolate.ts";
export { secretCommands } from "./secret_commands.ts";
export {
  encryptSecret,
  generateKey,
  isSecretPath,
  parseKey,
  resolveSecretKey,
  revealValue,
  SecretError,
} from "./secrets.ts";
export { findLine, scanKeyLines } from "./toml_lines.ts";
export { DURATION_HINT, formatBytes, formatDuration, parseDuration, parseSize } from "./units.ts";
export { describeValue, unknownKeyMessage } from "./wording.ts";
export { NAME_PATTERN, namedRecord } from "./named_record.ts";
export {
  bytesOf,
  customIssue,
  type Duration,
  duration,
  durationAtLeast,
  msOf,
  positiveDuration,
  type Size,
  size,
  textOf,
  timezone,
} from "./zod_units.ts";

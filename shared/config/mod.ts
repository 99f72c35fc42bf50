/**
 * The config toolkit of both programs: durations and sizes as zod units, named tables, zod
 * issues in our words, TOML text (as any editor saves it) and the line of each key, Windows
 * paths written as in Explorer, `${VAR}` interpolation, `enc:v1:` secrets, the config error
 * with key path and line, and the file readers (the program passes its file system in).
 *
 * @module
 */

export { readCaCerts } from "./ca_certs.ts";
export { ConfigError } from "./config_error.ts";
export type { ConfigIssue } from "./config_error.ts";
export { loadSecretKey, readConfigFile } from "./config_file.ts";
export type { ConfigFiles } from "./config_file.ts";
export { decodeConfigText, normalizeConfigText } from "./config_text.ts";
export { interpolate } from "./interpolate.ts";
export { interpolateTree } from "./interpolate_tree.ts";
export type { InterpolatedTree } from "./interpolate_tree.ts";
export { NAME_PATTERN, namedRecord } from "./named_record.ts";
export { parseToml } from "./parse_toml.ts";
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
export { describeJsonValue, describeValue, unknownKeyMessage } from "./wording.ts";
export { windowsPathIssues } from "./windows_paths.ts";
export { describeIssue, JSON_WORDING } from "./zod_issue.ts";
export type { DescribeIssueOptions, IssueWording, Problem } from "./zod_issue.ts";
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

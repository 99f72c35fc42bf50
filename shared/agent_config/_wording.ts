/**
 * How the agent's config words zod issues: TOML's words (`a table`, arrays
 * as written), bounds as `a number >= 0`, custom messages as written, and an
 * unknown key with the closest known one (`unknown key "comand"; did you
 * mean "command"?`), told apart by probe kind.
 *
 * @module
 */

import { describeValue, unknownKeyMessage } from "../config/wording.ts";
import type { IssueWording } from "../config/zod_issue.ts";
import { limitsSchema, PROBE_SCHEMAS } from "./health_schema.ts";
import {
  agentConfigSchema,
  agentSchema,
  collectorSchema,
  logSchema,
  restartSchema,
  scriptDefaultsSchema,
  scriptSchema,
} from "./schema.ts";

/** The agent config's wording of zod issues, for `describeIssue()`. */
export const AGENT_WORDING: IssueWording = {
  got: describeValue,
  table: "a table",
  bounds: "plain",
  messages: "as written",
  unknownKey,
};

/** The kind of the probe at `path` (`scripts.<name>.probes.<n>`), if it is one. */
function probeKind(
  path: readonly PropertyKey[],
  input: unknown,
): keyof typeof PROBE_SCHEMAS | undefined {
  if (path.length !== 4 || path[0] !== "scripts" || path[2] !== "probes") return undefined;
  const kind = typeof input === "object" && input !== null
    ? (input as { kind?: unknown }).kind
    : undefined;
  return typeof kind === "string" && Object.hasOwn(PROBE_SCHEMAS, kind)
    ? kind as keyof typeof PROBE_SCHEMAS
    : undefined;
}

/** Our message for an unknown `key` of the table at `path` holding `input`. */
function unknownKey(path: readonly PropertyKey[], key: string, input: unknown): string {
  const kind = probeKind(path, input);
  if (kind !== undefined) {
    const owner = Object.entries(PROBE_SCHEMAS).find(([, schema]) => key in schema.shape)?.[0];
    if (owner !== undefined) {
      return `expected ${key} only together with kind = "${owner}", got it with kind = "${kind}"`;
    }
    return unknownKeyMessage(key, Object.keys(PROBE_SCHEMAS[kind].shape));
  }
  return unknownKeyMessage(key, knownKeys(path));
}

/** Known keys of the table at `path`, for "did you mean" hints. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  const last = path.at(-1);
  const shape = path.length === 0
    ? agentConfigSchema.shape
    : path.length === 1 && last === "agent"
    ? agentSchema.shape
    : path.length === 1 && last === "defaults"
    ? scriptDefaultsSchema.shape
    : path.length === 1 && last === "collector"
    ? collectorSchema.shape
    : path.length === 2 && path[0] === "scripts"
    ? scriptSchema.shape
    : last === "restart"
    ? restartSchema.shape
    : last === "log"
    ? logSchema.shape
    : last === "limits"
    ? limitsSchema.shape
    : {};
  return Object.keys(shape);
}

/**
 * Config layers checked as an agent will read them, away from any agent: the
 * collector's check of a central config document (issue 19). The layers are
 * merged over a stand-in for the agent's own file and go through the same
 * pipeline as `parseConfig()`; what only the agent's machine knows is taken
 * as unknown but fine:
 *
 * - a `${VAR}` the caller's `vars` do not set, and an `enc:v1:` value when no
 *   key is given: the value is not checked (an array: none of its items);
 * - a calendar's `holidays_file`: not read (it is a file of the workstation);
 *   its holidays count as none.
 *
 * The stand-in for the agent's file is empty but for a `[collector]` table:
 * an agent that gets layers from the collector has one, so keys that need it
 * (`singleton = "site"`, `dedupe_scope = "site"`) are checked as there.
 *
 * @module
 */

import type { ConfigIssue } from "../config/config_error.ts";
import type { ConfigLayer } from "./layers.ts";
import { runPipeline } from "./parse.ts";

/** Options of {@linkcode checkConfigLayers}. */
export interface CheckConfigLayersOptions {
  /** The OS of the agents the layers are for (`Deno.build.os` names); default this one. */
  os?: string;
  /** The variables known for `${VAR}`; default none. Any other is unknown, not a problem. */
  vars?: Readonly<Record<string, string | undefined>>;
  /** The key of `enc:v1:` values; without one such values are not checked. */
  secretKey?: Uint8Array | null;
}

/** The agent's file the layers are checked over: a `[collector]` table only. */
const STAND_IN = '[collector]\nurl = "https://collector.invalid/"\ntoken = "stand-in"\n';

/** Where the stand-in is said to be: relative paths of the layers resolve against its folder. */
const STAND_IN_PATH = "/scriptmon/config.toml";

/** What a `holidays_file` reads as here: a calendar without events. */
const NO_HOLIDAYS = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";

/**
 * The problems of `layers` merged in order over an agent's config, as
 * `parseConfig()` finds them (each with the layer's name as its `file` and
 * its line there); empty when an agent would accept them. The layers'
 * `[agent]`, `[collector]` and `[env]` tables are ignored, as by the agent:
 * refuse them with `pinnedKeysIn()`.
 */
export function checkConfigLayers(
  layers: readonly ConfigLayer[],
  options: CheckConfigLayersOptions = {},
): ConfigIssue[] {
  return runPipeline(STAND_IN, {
    path: STAND_IN_PATH,
    layers,
    vars: options.vars ?? {},
    secretKey: options.secretKey ?? null,
    ...(options.os === undefined ? {} : { os: options.os }),
    readText: () => NO_HOLIDAYS,
  }, { unresolved: "unknown" }).issues;
}

/**
 * zod schemas → the JSON Schemas of the OpenAPI document, with zod 4's
 * `z.toJSONSchema`. A schema named with `.meta({ id })` becomes one entry of
 * `components.schemas` that every use refers to (`$ref`); the rest is inlined.
 *
 * @module
 */

import { z } from "zod";
import type { Json } from "./_openapi_parts.ts";

const DEFS = "#/$defs/";
const COMPONENTS = "#/components/schemas/";

/**
 * Gathers the named schemas of every body it converts, for
 * `components.schemas`.
 */
export class SchemaComponents {
  #schemas: Record<string, Json> = {};

  /**
   * The JSON Schema of a body: `input` for what a client sends (defaults
   * may be left out), `output` for what the collector answers.
   *
   * @throws {Error} when one id names two different shapes (say a schema
   * whose input and output differ, used both ways).
   */
  body(schema: z.ZodType, io: "input" | "output"): Json {
    const { $schema: _, $defs = {}, ...json } = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      unrepresentable: "throw",
      cycles: "throw",
    });
    for (const [id, def] of Object.entries($defs)) {
      const named = toComponentRefs(def) as Json;
      const known = this.#schemas[id];
      if (known !== undefined && JSON.stringify(known) !== JSON.stringify(named)) {
        throw new Error(
          `Schema "${id}" has two shapes in the OpenAPI document (now as ${io}): give the other its own id`,
        );
      }
      this.#schemas[id] = named;
    }
    return toComponentRefs(json) as Json;
  }

  /** Every named schema met so far, by id, sorted. */
  schemas(): Record<string, Json> {
    return Object.fromEntries(
      Object.entries(this.#schemas).sort(([a], [b]) => a.localeCompare(b)),
    );
  }
}

/** `value` with each `$ref` to `#/$defs/X` pointing at `#/components/schemas/X`. */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === "$ref" && typeof inner === "string" && inner.startsWith(DEFS)
        ? COMPONENTS + inner.slice(DEFS.length)
        : toComponentRefs(inner),
    ]),
  );
}

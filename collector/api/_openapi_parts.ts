/**
 * The shape of the route table (`openapi_routes.ts`) and the small
 * building blocks its entries use.
 *
 * @module
 */

import type { z } from "zod";
import { XLSX_CONTENT_TYPE } from "../http/xlsx.ts";

/** A JSON object of the document. */
export type Json = Record<string, unknown>;

/**
 * Who may call a route: an agent (its token), a user (an API token or a
 * signed-in user's session; the role from `ACCESS_RULES`), or anyone.
 */
export type Caller = "agent" | "user" | "anyone";

/** A success answer: JSON of `json`, or other media types, or both. */
export interface Answer {
  /** Default 200. */
  status?: 200 | 201 | 202;
  /** Default "OK". */
  description?: string;
  /** The JSON body as the collector answers it (its output side is documented). */
  json?: z.ZodType;
  /** Other media types of the same answer (CSV, a workbook, text), by type. */
  other?: Record<string, Json>;
}

/** One operation of the API: where it is, who may call it, what it takes and answers. */
export interface ApiRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** As Hono registers it, `:name` for a path parameter: `/api/v1/leases/:script`. */
  path: string;
  summary: string;
  description?: string;
  caller: Caller;
  /** Schemas of path parameters that are not just any string, by name. */
  pathParams?: Record<string, Json>;
  /** Query parameters, each made with {@linkcode query}. */
  query?: Json[];
  /** The JSON request body (required) as zod checks it; its input side is documented. */
  body?: z.ZodType;
  ok: Answer;
  /** The error statuses it may answer, each `{"error": "..."}`. */
  errors: number[];
}

/** A CSV answer (`Answer.other`). */
export const CSV: Record<string, Json> = { "text/csv": { schema: { type: "string" } } };

/** An Excel workbook answer (`Answer.other`). */
export const XLSX: Record<string, Json> = {
  [XLSX_CONTENT_TYPE]: { schema: { type: "string", format: "binary" } },
};

/** An optional query parameter. */
export const query = (
  name: string,
  description: string,
  schema: Json = { type: "string" },
): Json => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

/** The `since` and `until` of a report window. */
export const windowQuery = (): Json[] => [
  query("since", "Start of the window (ISO time)", { type: "string", format: "date-time" }),
  query("until", "End of the window (ISO time; default now)", {
    type: "string",
    format: "date-time",
  }),
];

/** `/a/:b/c` as OpenAPI writes it: `/a/{b}/c`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replaceAll(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

/** The names of the path parameters of a Hono path, in order. */
export function pathParamNames(honoPath: string): string[] {
  return [...honoPath.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
}

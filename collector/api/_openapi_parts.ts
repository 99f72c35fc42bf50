/**
 * Building blocks of the OpenAPI document (`openapi.ts` and the route
 * groups that document themselves beside it).
 *
 * @module
 */

/** A JSON object of the document. */
export type Json = Record<string, unknown>;

/** A 200 (or other) JSON answer of `schema`. */
export const json = (schema: Json, description = "OK"): Json => ({
  description,
  content: { "application/json": { schema } },
});

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

/** A path parameter. */
export const path = (name: string): Json => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
});

/** The error answers `codes`, each `{"error": "..."}`. */
export const errors = (...codes: number[]): Json =>
  Object.fromEntries(codes.map((code) => [String(code), { $ref: "#/components/responses/Error" }]));

/** Routes for agents. */
export const agentAuth = [{ agentToken: [] }];
/** Routes for people and programs (API token or session). */
export const apiAuth = [{ apiToken: [] }];

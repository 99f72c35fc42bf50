/**
 * The OpenAPI 3.1 document of the collector's API, served at
 * `GET /api/v1/openapi.json`, generated from one source: the route table
 * (`openapi_routes.ts`: paths, parameters, who may call) and the zod
 * schemas the routes check their bodies with (`shared/protocol.ts` and
 * beside the table), turned into JSON Schema by zod's `z.toJSONSchema`.
 *
 * @module
 */

import { z } from "zod";
import { PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { VERSION } from "../version.ts";
import { ACCESS_NOTE, operationAccess, SECURITY_SCHEMES } from "./_openapi_access.ts";
import {
  type Answer,
  type ApiRoute,
  type Json,
  openApiPath,
  pathParamNames,
} from "./_openapi_parts.ts";
import { SchemaComponents } from "./_openapi_zod.ts";
import { API_ROUTES } from "./openapi_routes.ts";

/** The answer of every refusal. */
const errorSchema = z.strictObject({ error: z.string() }).meta({
  id: "Error",
  description: "What was refused, which and the value",
});

/** The OpenAPI document, built on each call from {@linkcode API_ROUTES}. */
export function openApiDocument(routes: readonly ApiRoute[] = API_ROUTES): Json {
  const schemas = new SchemaComponents();
  const error = {
    description: "Refused",
    content: { "application/json": { schema: schemas.body(errorSchema, "output") } },
  };
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    const method = route.method.toLowerCase();
    if (paths[path]?.[method] !== undefined) {
      throw new Error(`Route ${route.method} ${route.path} is twice in the route table`);
    }
    paths[path] = { ...paths[path], [method]: operation(route, schemas) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "scriptmon collector",
      version: VERSION,
      description:
        `The fleet server of scriptmon. Agent protocol version ${PROTOCOL_VERSION}. Every route but /healthz needs "Authorization: Bearer <token>": an agent token for ingest and commands, an API token (or a signed-in user's session cookie) for the rest. ${ACCESS_NOTE} Every 4xx answers {"error": "..."}.`,
    },
    components: {
      securitySchemes: SECURITY_SCHEMES,
      responses: { Error: error },
      schemas: schemas.schemas(),
    },
    paths,
  };
}

/** The operation object of one route. */
function operation(route: ApiRoute, schemas: SchemaComponents): Json {
  const names = pathParamNames(route.path);
  const unknown = Object.keys(route.pathParams ?? {}).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `Route ${route.method} ${route.path}: pathParams name ${unknown.join(", ")}, not in the path`,
    );
  }
  const parameters = [
    ...names.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: route.pathParams?.[name] ?? { type: "string" },
    })),
    ...route.query ?? [],
  ];
  return {
    summary: route.summary,
    ...operationAccess(route),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(route.body === undefined ? {} : {
      requestBody: {
        required: true,
        content: { "application/json": { schema: schemas.body(route.body, "input") } },
      },
    }),
    responses: {
      [String(route.ok.status ?? 200)]: answer(route.ok, schemas),
      ...Object.fromEntries(
        route.errors.map((code) => [String(code), { $ref: "#/components/responses/Error" }]),
      ),
    },
  };
}

/** The response object of a success answer. */
function answer(ok: Answer, schemas: SchemaComponents): Json {
  return {
    description: ok.description ?? "OK",
    content: {
      ...(ok.json === undefined
        ? {}
        : { "application/json": { schema: schemas.body(ok.json, "output") } }),
      ...ok.other,
    },
  };
}

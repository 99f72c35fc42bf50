import assert from "node:assert/strict";
import { z } from "zod";
import { SchemaComponents } from "./_openapi_zod.ts";

const part = z.strictObject({ n: z.number().int().min(1).default(1) }).meta({
  id: "ZodTestPart",
  description: "A named part",
});
const whole = z.strictObject({ part, list: z.array(part).describe("Some parts") });

Deno.test("SchemaComponents.body(): a named schema becomes a component every use refers to", () => {
  const schemas = new SchemaComponents();
  assert.deepEqual(schemas.body(whole, "output"), {
    type: "object",
    properties: {
      part: { $ref: "#/components/schemas/ZodTestPart" },
      list: {
        type: "array",
        items: { $ref: "#/components/schemas/ZodTestPart" },
        description: "Some parts",
      },
    },
    required: ["part", "list"],
    additionalProperties: false,
  });
  assert.deepEqual(schemas.body(part, "output"), { $ref: "#/components/schemas/ZodTestPart" });
  assert.deepEqual(schemas.schemas(), {
    ZodTestPart: {
      type: "object",
      properties: {
        n: { default: 1, type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      },
      required: ["n"],
      additionalProperties: false,
      description: "A named part",
    },
  });
});

Deno.test("SchemaComponents.body(): input leaves a field with a default optional", () => {
  const schemas = new SchemaComponents();
  schemas.body(part, "input");
  assert.equal(schemas.schemas().ZodTestPart.required, undefined);
});

Deno.test("SchemaComponents.body(): one id with two shapes is refused, naming the id", () => {
  const schemas = new SchemaComponents();
  schemas.body(part, "output");
  assert.throws(() => schemas.body(part, "input"), {
    name: "Error",
    message:
      'Schema "ZodTestPart" has two shapes in the OpenAPI document (now as input): give the other its own id',
  });
});

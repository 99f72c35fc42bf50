import assert from "node:assert/strict";
import { z } from "zod";
import { describeValue } from "./wording.ts";
import { describeIssue, type IssueWording } from "./zod_issue.ts";

const schema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  ratio: z.number().min(0),
  name: z.string().min(1),
  tags: z.array(z.string()).min(1),
  mode: z.enum(["a", "b"]),
  table: z.object({ x: z.string() }),
  when: z.union([z.string(), z.number()]),
  checked: z.string().check((ctx) => {
    if (ctx.value !== "ok") {
      ctx.issues.push({ code: "custom", input: ctx.value, message: "Not ok" });
    }
  }),
});

const VALID = {
  port: 80,
  ratio: 1,
  name: "n",
  tags: ["t"],
  mode: "a",
  table: { x: "y" },
  when: 1,
  checked: "ok",
};

const TOML: IssueWording = {
  got: describeValue,
  table: "a table",
  bounds: "plain",
  messages: "as written",
  unknownKey: (_path, key) => `unknown key ${JSON.stringify(key)}; did you mean "port"?`,
};

function problems(input: Record<string, unknown>, wording?: IssueWording): string[] {
  const result = schema.safeParse({ ...VALID, ...input }, { reportInput: true });
  assert.ok(!result.success);
  return result.error.issues.flatMap((issue) =>
    describeIssue(issue, { schema, wording }).map((p) => `${p.path}: ${p.message}`)
  );
}

Deno.test("describeIssue() words types, values and bounds, the integer said where it is one", () => {
  assert.deepEqual(problems({ port: 0, ratio: -1, name: "", tags: [], mode: "c" }), [
    "port: expected an integer >= 1, got 0",
    "ratio: expected a non-negative number, got -1",
    'name: expected a non-empty string, got ""',
    "tags: expected at least 1 items, got 0",
    'mode: expected one of "a", "b", got "c"',
  ]);
  assert.deepEqual(problems({ table: [1], port: "80" }), [
    'port: expected a number, got "80"',
    "table: expected an object, got an array",
  ]);
});

Deno.test("describeIssue() adds the value to zod's and custom messages that name none", () => {
  assert.deepEqual(problems({ when: true, checked: "no" }), [
    "when: invalid input, got true",
    'checked: not ok, got "no"',
  ]);
});

Deno.test("describeIssue() gives one problem per unknown key, under a prefix", () => {
  const result = schema.safeParse({ ...VALID, prot: 1, extra: 2 });
  assert.ok(!result.success);
  assert.deepEqual(describeIssue(result.error.issues[0], { prefix: ["body"] }), [
    { path: "body.prot", message: 'unknown key "prot"' },
    { path: "body.extra", message: 'unknown key "extra"' },
  ]);
});

Deno.test("describeIssue() with a TOML wording: tables, plain bounds, messages as written", () => {
  assert.deepEqual(problems({ port: 0, tags: [], table: 5, checked: "no", prot: 1 }, TOML), [
    "port: expected a number >= 1, got 0",
    "tags: expected a number >= 1, got []",
    "table: expected a table, got 5",
    "checked: Not ok",
    'prot: unknown key "prot"; did you mean "port"?',
  ]);
});

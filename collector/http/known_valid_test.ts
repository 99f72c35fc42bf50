import assert from "node:assert/strict";
import { z } from "zod";
import { ingestRequestSchema } from "../../shared/protocol.ts";
import { ingestBody, mutate, NASTY, Rng, tokenSummary } from "../../tests/_fuzz.ts";
import { ASK_ZOD, knownValid } from "./known_valid.ts";

/** An ingest with every optional part of the protocol present (acks with logs, tokens…). */
function fullIngest(): Record<string, unknown> {
  const at = "2026-12-07T09:00:00.000Z";
  const body = ingestBody("FC1", "ws-07", [41, 42], new Date(at));
  const [script] = body.scripts as Record<string, unknown>[];
  Object.assign(script, {
    lastExit: { at, code: 1, signal: null, runtimeMs: 7400 },
    schedule: "*/5 * * * *",
    singleton: { scope: "site", here: true, holder: "FC1/ws-07" },
    pings: 3,
    posted: 12,
    anomalies: false,
    offHours: "relax",
  });
  body.acks = [{
    id: "cmd-1",
    ok: true,
    message: "done",
    at,
    logs: { lines: [{ at, stream: "stdout", text: "hello" }], cursor: "c1", truncated: false },
  }];
  body.tokens = [tokenSummary(at)];
  body.config = { version: 3, refused: { version: 4, message: "bad key" }, pending: 5 };
  return body;
}

/** `text` parsed twice: one copy for zod, one for the compiled check (which fills in place). */
function both(text: string): [unknown, unknown] {
  return [JSON.parse(text), JSON.parse(text)];
}

Deno.test("the ingest schema compiles, and a full ingest is valid without zod, with zod's value", () => {
  const check = knownValid(ingestRequestSchema);
  assert.notEqual(check, null);
  const [forZod, forCheck] = both(JSON.stringify(fullIngest()));
  const value = check!(forCheck);
  assert.notEqual(value, ASK_ZOD);
  assert.deepEqual(value, ingestRequestSchema.parse(forZod));
});

Deno.test("a compiled check accepts exactly what zod accepts, with the value zod returns", () => {
  const check = knownValid(ingestRequestSchema)!;
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 20261207);
  const rng = new Rng(seed);
  let accepted = 0, refused = 0;
  for (let i = 0; i < 4000; i++) {
    let body = fullIngest();
    for (let n = 1 + rng.int(3); n > 0; n--) body = mutate(rng, body);
    const text = JSON.stringify(body);
    const [forZod, forCheck] = both(text);
    const expected = ingestRequestSchema.safeParse(forZod);
    const value = check(forCheck);
    const where = `seed ${seed}, body ${i}: ${text.slice(0, 300)}`;
    if (!expected.success) {
      assert.equal(value, ASK_ZOD, where);
      refused++;
      continue;
    }
    accepted++;
    // zod drops a `__proto__` key of a record as it copies it: that one it parses itself.
    if (text.includes('"__proto__"')) continue;
    assert.notEqual(value, ASK_ZOD, where);
    assert.deepEqual(value, expected.data, where);
  }
  // Both sides of the line were walked many times.
  assert.ok(accepted > 100 && refused > 2000, `accepted ${accepted}, refused ${refused}`);
});

Deno.test("lengths count code points and numbers keep zod's bounds, as zod does", () => {
  const check = knownValid(ingestRequestSchema)!;
  const cases: [
    string,
    (body: Record<string, unknown>, script: Record<string, unknown>) => void,
  ][] = [
    ["reason of 1000 astral characters (2000 UTF-16 units)", (_, s) => {
      s.reason = "𝕏".repeat(1000);
    }],
    ["reason of 1001 astral characters", (_, s) => {
      s.reason = "𝕏".repeat(1001);
    }],
    ["pid beyond the safe integers", (_, s) => {
      s.pid = 2 ** 53;
    }],
    ["restarts -0", (_, s) => {
      s.restarts = -0;
    }],
    ["restarts -1", (_, s) => {
      s.restarts = -1;
    }],
    ["confidence above 1", (b) => {
      (b.tokens as Record<string, unknown>[])[0].confidence = 1.01;
    }],
    ["an event's `at` that is no time", (b) => {
      (b.events as Record<string, unknown>[])[0].at = "yesterday";
    }],
    ["a name outside [A-Za-z0-9_.-]", (_, s) => {
      s.name = "rates!";
    }],
    ...NASTY.map((text): [string, (b: Record<string, unknown>) => void] => [
      `the host ${JSON.stringify(text.slice(0, 20))}`,
      (b) => {
        (b.agent as Record<string, unknown>).host = text;
      },
    ]),
  ];
  for (const [name, change] of cases) {
    const body = fullIngest();
    change(body, (body.scripts as Record<string, unknown>[])[0]);
    const [forZod, forCheck] = both(JSON.stringify(body));
    const expected = ingestRequestSchema.safeParse(forZod);
    const value = check(forCheck);
    if (expected.success) assert.deepEqual(value, expected.data, name);
    else assert.equal(value, ASK_ZOD, name);
  }
});

Deno.test("absent fields with defaults are filled in, each body with its own default", () => {
  const check = knownValid(ingestRequestSchema)!;
  const parse = () => {
    const body = fullIngest();
    delete body.acks;
    delete body.dropped;
    return check(JSON.parse(JSON.stringify(body)));
  };
  const first = parse(), second = parse();
  assert.notEqual(first, ASK_ZOD);
  assert.notEqual(second, ASK_ZOD);
  if (first === ASK_ZOD || second === ASK_ZOD) return;
  assert.deepEqual([first.acks, first.dropped], [[], 0]);
  assert.notEqual(first.acks, second.acks);
});

Deno.test("a body handed to zod is as sent: defaults are filled in only when all of it is valid", () => {
  const schema = z.object({
    x: z.strictObject({ n: z.number().default(1) }),
    y: z.string(),
  });
  const check = knownValid(schema)!;
  // `x` alone is valid (its default due), then `y` is not, and then an unknown key zod strips.
  for (const text of ['{"x":{},"y":1}', '{"x":{},"y":"a","extra":1}']) {
    const body = JSON.parse(text);
    assert.equal(check(body), ASK_ZOD, text);
    assert.deepEqual(body, JSON.parse(text), text);
  }
  assert.deepEqual(check(JSON.parse('{"x":{},"y":"a"}')), { x: { n: 1 }, y: "a" });
});

Deno.test("what only zod can do is left to zod: stripped keys, unions, transforms, a lone `__proto__`", () => {
  assert.equal(knownValid(z.union([z.string(), z.number()])), null);
  assert.equal(knownValid(z.string().transform((s) => s.length)), null);
  assert.equal(knownValid(z.looseObject({ a: z.string() })), null);
  assert.equal(knownValid(z.strictObject({ toString: z.string() })), null);

  // Internals it cannot read (another zod's, say): no compiled check, so zod does every body.
  const odd = { _zod: { def: { type: "string" } } } as unknown as z.ZodString;
  assert.equal(knownValid(odd), null);

  // A plain object strips unknown keys: the copy is zod's to make.
  const stripped = knownValid(z.object({ a: z.string() }))!;
  assert.deepEqual(stripped({ a: "x" }), { a: "x" });
  assert.equal(stripped({ a: "x", b: 1 }), ASK_ZOD);

  // A check that changes the value (`.trim()`) gives it back to zod.
  const trimmed = knownValid(z.strictObject({ a: z.string().trim() }))!;
  assert.deepEqual(trimmed({ a: "x" }), { a: "x" });
  assert.equal(trimmed({ a: " x " }), ASK_ZOD);

  // A refinement of a whole object would see the body's key order, not zod's copy's; one of an
  // array could look inside at defaults not filled in yet; a record's checked keys: all zod's.
  assert.equal(knownValid(z.strictObject({ a: z.number() }).refine((o) => o.a > 1)), null);
  assert.equal(knownValid(z.array(z.number()).refine((a) => a.length > 0)), null);
  assert.equal(knownValid(z.record(z.email(), z.number())), null);
  assert.equal(knownValid(z.record(z.string().min(2), z.number())), null);
  assert.equal(knownValid(z.strictObject({ [Symbol("s")]: z.string() })), null);
  const limited = knownValid(z.array(z.number()).max(2))!;
  assert.deepEqual(limited([1, 2]), [1, 2]);
  assert.equal(limited([1, 2, 3]), ASK_ZOD);

  // A record's `__proto__` key, which zod leaves out of its copy.
  const record = knownValid(z.record(z.string(), z.number()))!;
  assert.deepEqual(record({ a: 1 }), { a: 1 });
  assert.equal(record(JSON.parse('{"__proto__": 1}')), ASK_ZOD);
});

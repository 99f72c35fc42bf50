import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { findLine, scanKeyLines } from "./toml_lines.ts";

function scan(text: string): Record<string, number> {
  parse(text); // the scanner only ever sees valid TOML
  return Object.fromEntries(scanKeyLines(text));
}

Deno.test("scanKeyLines() maps table headers and their keys to their lines", () => {
  assert.deepEqual(scan('[agent]\nsite = "BFI4"\n\n[scripts.rates]\ncommand = "x"\n'), {
    "agent": 1,
    "agent.site": 2,
    "scripts": 4,
    "scripts.rates": 4,
    "scripts.rates.command": 5,
  });
});

Deno.test("scanKeyLines() maps dotted and quoted keys, and their implicit parents", () => {
  assert.deepEqual(scan('a.b = 1\n"c.d" . e = 2\n[x."y z"]\n\'k\' = 3\n'), {
    "a": 1,
    "a.b": 1,
    "c.d": 2,
    "c.d.e": 2,
    "x": 3,
    "x.y z": 3,
    "x.y z.k": 4,
  });
});

Deno.test("scanKeyLines() ignores =, # and [ inside strings and comments", () => {
  const text = [
    "[s] # [not.a.table]",
    'a = "x = [y] # z"',
    "b = 'c:\\\\path # = ['",
    "# c = 1",
    'd = "esc \\" = [" # tail = 2',
    "e = 1",
  ].join("\n");
  assert.deepEqual(scan(text), { "s": 1, "s.a": 2, "s.b": 3, "s.d": 5, "s.e": 6 });
});

Deno.test("scanKeyLines() counts the lines of multi-line strings", () => {
  const text = [
    'a = """',
    "x = 1",
    "[fake]",
    '"""',
    "b = '''",
    "y = 2 '''",
    'c = """q""""',
    "d = 4",
  ].join("\n");
  assert.deepEqual(scan(text), { "a": 1, "b": 5, "c": 7, "d": 8 });
});

Deno.test("scanKeyLines() maps elements of multi-line arrays and keys of inline tables", () => {
  const text = [
    "[s]",
    "cmd = [",
    '  "python", # first',
    '  "x]y",',
    "]",
    "env = { A = \"1\", b.c = { d = 'e' } }",
    "rows = [",
    "  { k = 1 },",
    "  { k = 2, m = [1, 2] },",
    "]",
    "after = true",
  ].join("\n");
  assert.deepEqual(scan(text), {
    "s": 1,
    "s.cmd": 2,
    "s.cmd.0": 3,
    "s.cmd.1": 4,
    "s.env": 6,
    "s.env.A": 6,
    "s.env.b": 6,
    "s.env.b.c": 6,
    "s.env.b.c.d": 6,
    "s.rows": 7,
    "s.rows.0": 8,
    "s.rows.0.k": 8,
    "s.rows.1": 9,
    "s.rows.1.k": 9,
    "s.rows.1.m": 9,
    "s.rows.1.m.0": 9,
    "s.rows.1.m.1": 9,
    "s.after": 11,
  });
});

Deno.test("scanKeyLines() numbers [[array.tables]] and their sub-tables", () => {
  const text = "[[p]]\nn = 1\n[[p]]\nn = 2\n[p.sub]\nq = 3\n";
  assert.deepEqual(scan(text), {
    "p": 1,
    "p.0": 1,
    "p.0.n": 2,
    "p.1": 3,
    "p.1.n": 4,
    "p.1.sub": 5,
    "p.1.sub.q": 6,
  });
});

Deno.test("scanKeyLines() handles CRLF line endings and dates", () => {
  assert.deepEqual(scan("a = 1979-05-27 07:32:00Z\r\nb = 2\r\n"), { "a": 1, "b": 2 });
});

Deno.test("findLine() falls back to the nearest enclosing key", () => {
  const lines = scanKeyLines('[scripts.x]\ncommand = ["a", "b"]\n');
  assert.equal(findLine(lines, ["scripts", "x", "command", "1"]), 2);
  assert.equal(findLine(lines, ["scripts", "x", "restart", "policy"]), 1);
  assert.equal(findLine(lines, ["agent", "site"]), undefined);
});

Deno.test("scanKeyLines() reads past a byte order mark and CRLF line ends", () => {
  assert.deepEqual(scan('\uFEFF[agent]\r\nsite = "BFI4"\r\n\r\napi_port = 1\r\n'), {
    "agent": 1,
    "agent.site": 2,
    "agent.api_port": 4,
  });
});

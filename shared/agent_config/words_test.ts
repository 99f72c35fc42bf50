import assert from "node:assert/strict";
import { splitWords } from "./words.ts";

Deno.test("splitWords() splits on runs of whitespace", () => {
  assert.deepEqual(splitWords("  python3   token_monitor.py\t--x 1 "), [
    "python3",
    "token_monitor.py",
    "--x",
    "1",
  ]);
});

Deno.test("splitWords() keeps single-quoted text literally", () => {
  assert.deepEqual(splitWords(`echo 'a b' 'it"s' '$HOME \\n'`), [
    "echo",
    "a b",
    'it"s',
    "$HOME \\n",
  ]);
});

Deno.test("splitWords() unescapes only quote, backslash, dollar and backtick in double quotes", () => {
  assert.deepEqual(splitWords(`run "a \\"b\\" c" "C:\\fc\\x" "\\$X"`), [
    "run",
    'a "b" c',
    "C:\\fc\\x",
    "$X",
  ]);
});

Deno.test("splitWords() joins quoted and bare parts of one word", () => {
  assert.deepEqual(splitWords(`--name="a b"c 'x'"y"`), ["--name=a bc", "xy"]);
});

Deno.test("splitWords() keeps an empty quoted word", () => {
  assert.deepEqual(splitWords(`cmd "" ''`), ["cmd", "", ""]);
});

Deno.test("splitWords() treats a backslash outside quotes as escaping the next character", () => {
  assert.deepEqual(splitWords("echo a\\ b \\'"), ["echo", "a b", "'"]);
});

Deno.test("splitWords() returns no words for blank text", () => {
  assert.deepEqual(splitWords("   "), []);
});

Deno.test("splitWords() rejects unterminated quotes and trailing backslashes", () => {
  assert.throws(() => splitWords(`echo "a b`), {
    name: "SyntaxError",
    message: `Unterminated double quote at character 6 in command "echo \\"a b"`,
  });
  assert.throws(() => splitWords("echo 'a"), {
    name: "SyntaxError",
    message: `Unterminated single quote at character 6 in command "echo 'a"`,
  });
  assert.throws(() => splitWords("echo \\"), {
    name: "SyntaxError",
    message: `Trailing backslash in command "echo \\\\"`,
  });
});

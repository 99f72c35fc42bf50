import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { scanKeyLines } from "./toml_lines.ts";
import { escapeHint, pathProblem, windowsPathAdvice, windowsPathIssues } from "./windows_paths.ts";

/** The issues of `text`, a TOML document that parses. */
function issuesOf(text: string) {
  return windowsPathIssues(parse(text), scanKeyLines(text));
}

Deno.test("windowsPathIssues() reports a path an escape broke, with its key, line and advice", () => {
  assert.deepEqual(issuesOf('[scripts.rates]\ncommand = "python"\ncwd = "C:\\fc\\new"\n'), [{
    path: "scripts.rates.cwd",
    line: 3,
    message: '"C:\\fc\\new" holds a form feed and a newline: in a double-quoted string "\\f" and ' +
      "\"\\n\" are escapes, not part of a path; write 'C:\\fc\\new' (single quotes keep " +
      'backslashes) or "C:/fc/new"',
  }]);
});

Deno.test("windowsPathIssues() finds a drive path under any key, in arrays and inline tables", () => {
  const text = [
    "[scripts.rates]",
    'command = ["python", "C:\\tools\\rates.py"]',
    'env = { PYTHONPATH = "D:\\fc\\new" }',
    'args = "--out=E:\\backup"',
  ].join("\n");
  assert.deepEqual(issuesOf(text).map((issue) => [issue.path, issue.line]), [
    ["scripts.rates.command.1", 2],
    ["scripts.rates.env.PYTHONPATH", 3],
    ["scripts.rates.args", 4],
  ]);
});

Deno.test("windowsPathIssues() checks keys that name a path even without a drive", () => {
  const text =
    '[agent]\ndata_dir = "data\\new"\nlog_dir = "logs\\today"\n[t]\ntoken_file = "x\\bin"\n';
  assert.deepEqual(issuesOf(text).map((issue) => issue.path), [
    "agent.data_dir",
    "agent.log_dir",
    "t.token_file",
  ]);
});

Deno.test("windowsPathIssues() leaves free text alone: messages, programs, URLs, cmd lines", () => {
  const text = [
    'message = "line one\\nline two\\tend"',
    'command = ["python", "-c", "import sys\\nprint(1)"]',
    'shell = "cmd /c echo %DATE% %TIME%"',
    'url = "https://example.com/a%AB%CD/b?x=%20"',
    'body = """Disk C: is full\nsee http://x:8080/\n"""',
    "cwd = 'C:\\fc\\scripts'",
    'data_dir = "C:/fc/data"',
    'log_dir = "C:\\\\fc\\\\logs"',
  ].join("\n");
  assert.deepEqual(issuesOf(text), []);
});

Deno.test("windowsPathIssues() refuses %VAR% in a path and says to write ${VAR}", () => {
  const text =
    "[agent]\ndata_dir = '%LOCALAPPDATA%\\scriptmon'\n[s]\ncommand = ['%USERPROFILE%/x.cmd']\n";
  assert.deepEqual(issuesOf(text), [
    {
      path: "agent.data_dir",
      line: 2,
      message: '"%LOCALAPPDATA%\\scriptmon" names %LOCALAPPDATA% the cmd.exe way, which config ' +
        "files do not expand (they expand ${NAME}); write '${LOCALAPPDATA}\\scriptmon' (single " +
        'quotes keep backslashes) or "${LOCALAPPDATA}/scriptmon"',
    },
    {
      path: "s.command.0",
      line: 4,
      message: '"%USERPROFILE%/x.cmd" names %USERPROFILE% the cmd.exe way, which config files do ' +
        "not expand (they expand ${NAME}); write '${USERPROFILE}/x.cmd' (single quotes keep " +
        'backslashes) or "${USERPROFILE}/x.cmd"',
    },
  ]);
});

Deno.test("pathProblem() names every control character, TOML 1.1's \\e and the rest by code", () => {
  assert.equal(
    pathProblem("C:\x1btc\x01", "cwd"),
    '"C:\\etc\\u0001" holds an escape character and the control character U+0001: in a ' +
      'double-quoted string "\\e" and "\\u0001" are escapes, not part of a path; write ' +
      "'C:\\etc\\u0001' (single quotes keep backslashes) or \"C:/etc/u0001\"",
  );
  assert.equal(pathProblem("C:\\fc", "cwd"), undefined);
});

Deno.test("windowsPathAdvice() offers only forward slashes for a path holding a quote", () => {
  assert.equal(windowsPathAdvice("C:\\ann's"), 'write "C:/ann\'s"');
});

Deno.test("escapeHint() explains a line whose double-quoted string has a backslash before a letter", () => {
  assert.equal(
    escapeHint('cwd = "C:\\fc\\scripts"'),
    "in a double-quoted string a backslash starts an escape, so a Windows path cannot be written " +
      "\"C:\\fc\\scripts\": write 'C:\\fc\\scripts' (single quotes keep backslashes) or " +
      '"C:/fc/scripts"',
  );
  assert.equal(escapeHint("api_port = = 1"), undefined);
  assert.equal(escapeHint("cwd = 'C:\\fc\\scripts' x"), undefined);
});

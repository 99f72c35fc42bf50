import assert from "node:assert/strict";
import {
  decodeSchtasks,
  escapeXml,
  quoteWindowsArg,
  TASK_NAME,
  taskAction,
  taskXml,
  utf16le,
} from "./windows_task.ts";

const SPEC = {
  user: "AMZN\\ann",
  argv: [
    "C:\\scriptmon\\scriptmon-agent.cmd",
    "run",
    "--config",
    "C:\\fc\\R&D <2>\\scriptmon.toml",
  ],
  workingDirectory: "C:\\fc\\R&D <2>",
};

/** The text of every `<name>` element of `xml`, unescaped. */
function elements(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) =>
    m[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
      .replace(/&amp;/g, "&")
  );
}

Deno.test("the logon task starts the agent hidden, at this user's logon, in their session, without a time limit", () => {
  const xml = taskXml(SPEC);
  assert.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-16"\?>\n<Task version="1\.2" xmlns="http:\/\/schemas\.microsoft\.com\/windows\/2004\/02\/mit\/task">/,
  );
  assert.match(xml, /<LogonTrigger>\s*<Enabled>true<\/Enabled>\s*<UserId>AMZN\\ann<\/UserId>/);
  assert.deepEqual(elements(xml, "LogonType"), ["InteractiveToken"]);
  assert.deepEqual(elements(xml, "RunLevel"), ["LeastPrivilege"]);
  assert.deepEqual(elements(xml, "Hidden"), ["true"]);
  assert.deepEqual(elements(xml, "ExecutionTimeLimit"), ["PT0S"]);
  assert.deepEqual(elements(xml, "MultipleInstancesPolicy"), ["IgnoreNew"]);
  assert.deepEqual(elements(xml, "DisallowStartIfOnBatteries"), ["false"]);
  assert.deepEqual(elements(xml, "StopIfGoingOnBatteries"), ["false"]);
  assert.match(xml, /<RestartOnFailure>\s*<Interval>PT1M<\/Interval>\s*<Count>999<\/Count>/);
  assert.deepEqual(elements(xml, "URI"), [`\\${TASK_NAME}`]);
});

Deno.test("the task's command, arguments and folder survive &, <, > and spaces", () => {
  const xml = taskXml(SPEC);
  assert.ok(!/&(?!amp;|lt;|gt;|quot;|apos;)/.test(xml), "every & escaped");
  assert.deepEqual(elements(xml, "Command"), [SPEC.argv[0]]);
  assert.deepEqual(elements(xml, "Arguments"), ['run --config "C:\\fc\\R&D <2>\\scriptmon.toml"']);
  assert.deepEqual(elements(xml, "WorkingDirectory"), [SPEC.workingDirectory]);
  assert.deepEqual(taskAction(xml), {
    command: SPEC.argv[0],
    arguments: 'run --config "C:\\fc\\R&D <2>\\scriptmon.toml"',
  });
  assert.equal(escapeXml(`a&b<c>"d'`), "a&amp;b&lt;c&gt;&quot;d&apos;");
});

Deno.test("quoteWindowsArg() quotes as CommandLineToArgvW splits", () => {
  assert.equal(quoteWindowsArg("run"), "run");
  assert.equal(quoteWindowsArg("C:\\Program Files\\x"), '"C:\\Program Files\\x"');
  assert.equal(quoteWindowsArg("C:\\dir with space\\"), '"C:\\dir with space\\\\"');
  assert.equal(quoteWindowsArg('say "hi"'), '"say \\"hi\\""');
  assert.equal(quoteWindowsArg(""), '""');
});

Deno.test("the XML file is UTF-16LE with a byte order mark; schtasks output decodes either way", () => {
  const bytes = utf16le("<Task>é</Task>");
  assert.deepEqual([...bytes.slice(0, 4)], [0xff, 0xfe, 0x3c, 0x00]);
  assert.equal(new TextDecoder("utf-16le").decode(bytes.slice(2)), "<Task>é</Task>");
  assert.equal(decodeSchtasks(bytes), "<Task>é</Task>");
  assert.equal(decodeSchtasks(new TextEncoder().encode("SUCCESS: done")), "SUCCESS: done");
});

/**
 * The log viewer's API end to end: a real collector and a real agent; the
 * lines come from the agent through the `logs` command.
 */
import assert from "node:assert/strict";
import { fixtureScript } from "./_agent_process.ts";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";

interface Answer {
  lines: { at: string | null; stream: string; text: string }[];
  cursor: string;
  truncated: boolean;
}

const LOGS = "/api/v1/agents/SITEL/l1/scripts/talker/logs";

async function startTalker(fleet: Fleet): Promise<void> {
  await fleet.startAgent(
    await fleet.agentConfig("SITEL", "l1", fixtureScript("talker", "log_lines.ts", "200")),
  );
  await until("l1's talker reported, and its first line logged", async () => {
    const res = await fleet.api(`${LOGS}?lines=50`);
    const body = await res.json();
    return res.ok && (body as Answer).lines.some((l) => l.text.startsWith("hello"));
  });
}

Deno.test("the logs endpoint returns a line the script printed, with stdout and stderr marked", async () => {
  await using fleet = await Fleet.start();
  await startTalker(fleet);
  const answer = await fleet.getJson<Answer>(`${LOGS}?lines=500`);
  const hello = answer.lines.find((l) => l.text.startsWith("hello"));
  assert.deepEqual(hello && { stream: hello.stream, text: hello.text }, {
    stream: "stdout",
    text: "hello from the fixture <img src=x onerror=alert(1)>",
  });
  assert.ok(!Number.isNaN(Date.parse(hello!.at!)));
  const warning = answer.lines.find((l) => l.text === "a warning on stderr");
  assert.equal(warning?.stream, "stderr");
  const few = await fleet.getJson<Answer>(`${LOGS}?lines=2`);
  assert.equal(few.lines.length, 2);
});

Deno.test("following the log with the cursor returns only the lines written since", async () => {
  await using fleet = await Fleet.start();
  await startTalker(fleet);
  const first = await fleet.getJson<Answer>(`${LOGS}?lines=500`);
  const ticks = (a: Answer) =>
    a.lines.map((l) => /^tick (\d+)$/.exec(l.text)?.[1]).filter((n) => n !== undefined).map(Number);
  const seen = ticks(first);
  let cursor = first.cursor;
  for (let round = 0; round < 3; round++) {
    const next = await until("new lines after the cursor", async () => {
      const body = await fleet.getJson<Answer>(`${LOGS}?after=${encodeURIComponent(cursor)}`);
      return body.lines.length > 0 ? body : undefined;
    });
    const fresh = ticks(next);
    assert.ok(fresh.length > 0);
    assert.equal(fresh[0], (seen.at(-1) ?? 0) + 1, `continues after ${seen.at(-1)}: ${fresh}`);
    seen.push(...fresh);
    cursor = next.cursor;
  }
  assert.deepEqual(seen, seen.map((_, i) => seen[0] + i), "no line twice, none missing");
});

Deno.test("the logs endpoint: unknown script or agent 404, a bad cursor or count 400", async () => {
  await using fleet = await Fleet.start();
  await startTalker(fleet);
  const cases: [string, number, RegExp][] = [
    ["/api/v1/agents/SITEL/l1/scripts/nope/logs", 404, /has not reported a script "nope"/],
    ["/api/v1/agents/SITEL/zz/scripts/talker/logs", 404, /No agent SITEL\/zz/],
    [`${LOGS}?after=yesterday`, 400, /after: expected the cursor/],
    [`${LOGS}?lines=501`, 400, /lines: expected an integer from 1 to 500/],
  ];
  for (const [path, status, message] of cases) {
    const res = await fleet.api(path);
    const body = await res.json();
    assert.equal(res.status, status, path);
    assert.match(body.error, message);
  }
  const posted = await fleet.api(LOGS, { method: "POST" });
  assert.equal(posted.status, 404, "logs is not a control action");
  assert.match(
    (await posted.json()).error,
    /No action "logs": expected one of start, stop, restart/,
  );
  const unauthenticated = await fetch(new URL(LOGS, fleet.collector.url));
  await unauthenticated.body?.cancel();
  assert.equal(unauthenticated.status, 401);
});

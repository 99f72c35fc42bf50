import assert from "node:assert/strict";
import { LogRequests } from "./log_requests.ts";

const logs = {
  lines: [{ at: null, stream: "other" as const, text: "x" }],
  cursor: "#1",
  truncated: false,
};
const at = "2026-12-01T10:00:00.000Z";

Deno.test("take() hands the lines to the waiting request and strips them from the acks for the store", async () => {
  const requests = new LogRequests();
  const waiting = requests.wait("cmd-1", 5000);
  const stored = requests.take([
    { id: "cmd-1", ok: true, message: "1 line(s)", at, logs },
    { id: "cmd-2", ok: true, message: "restart: done", at },
  ]);
  assert.deepEqual(stored, [
    { id: "cmd-1", ok: true, message: "1 line(s)", at },
    { id: "cmd-2", ok: true, message: "restart: done", at },
  ]);
  assert.deepEqual(await waiting, { kind: "answer", ok: true, message: "1 line(s)", logs });
  assert.equal(requests.size, 0);
});

Deno.test("wait() ends with timeout when no ack comes, and frees its slot", async () => {
  const requests = new LogRequests({ max: 1 });
  const waiting = requests.wait("cmd-1", 10);
  assert.equal(requests.hasRoom(), false);
  assert.deepEqual(await waiting, { kind: "timeout" });
  assert.equal(requests.hasRoom(), true);
});

Deno.test("canServe() is true only for an agent whose last request named the logs feature", () => {
  const requests = new LogRequests();
  assert.equal(requests.canServe("S", "h"), false);
  requests.noteFeatures("S", "h", "logs");
  assert.equal(requests.canServe("S", "h"), true);
  requests.noteFeatures("S", "h", undefined);
  assert.equal(requests.canServe("S", "h"), false);
});

Deno.test("only the agent that was asked can answer a log request", async () => {
  const requests = new LogRequests();
  const waiting = requests.wait("cmd-1", 1000, undefined, { site: "BFI4", host: "ws-01" });
  const logs = {
    lines: [{ at: null, stream: "stdout" as const, text: "forged" }],
    cursor: "c",
    truncated: false,
  };
  const ack = { id: "cmd-1", ok: true, message: "", at: "2026-05-01T12:00:00.000Z", logs };
  const stripped = requests.take([ack], { site: "SEA8", host: "ws-09" });
  assert.equal(stripped[0].logs, undefined, "the forged lines go nowhere");
  requests.take([{ ...ack, logs: { ...logs, lines: [{ ...logs.lines[0], text: "real" }] } }], {
    site: "BFI4",
    host: "ws-01",
  });
  const outcome = await waiting;
  assert.equal(outcome.kind, "answer");
  assert.equal(outcome.kind === "answer" ? outcome.logs?.lines[0].text : null, "real");
});

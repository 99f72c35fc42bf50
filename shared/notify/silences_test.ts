import assert from "node:assert/strict";
import {
  findSilence,
  globMatch,
  matches,
  matchesAlert,
  type Silence,
  silenceNote,
} from "./silences.ts";
import type { Alert } from "./types.ts";

const alert: Alert = {
  rule: "crash-looping",
  severity: "critical",
  status: "firing",
  title: "rates is crash-looping on ws7 (BFI4)",
  text: "",
  site: "BFI4",
  host: "ws7",
  script: "rates",
  at: "2026-06-10T12:00:00.000Z",
  episode: "",
};

const until = "2026-06-10T13:00:00Z";
const before = Date.parse("2026-06-10T12:30:00Z");

Deno.test("globMatch() matches exact text and * as any run of characters", () => {
  assert.equal(globMatch("rates", "rates"), true);
  assert.equal(globMatch("rates", "rates2"), false);
  assert.equal(globMatch("*", ""), true);
  assert.equal(globMatch("rate*", "rates"), true);
  assert.equal(globMatch("*tes", "rates"), true);
  assert.equal(globMatch("r*t*s", "rates"), true);
  assert.equal(globMatch("r*x*s", "rates"), false);
  assert.equal(globMatch("a*a", "a"), false);
  assert.equal(globMatch("BFI*", "SEA1"), false);
});

Deno.test("matchesAlert() needs every named field to match; a missing field is empty", () => {
  assert.equal(matchesAlert({}, alert), true);
  assert.equal(matchesAlert({ site: "BFI4", script: "rat*" }, alert), true);
  assert.equal(matchesAlert({ site: "BFI4", script: "tokens" }, alert), false);
  assert.equal(matchesAlert({ severity: "critical" }, alert), true);
  assert.equal(matchesAlert({ check: "heartbeat" }, alert), false);
  assert.equal(matchesAlert({ check: "*" }, alert), true);
});

Deno.test("matches() hushes a matching alert until the silence ends", () => {
  const silence: Silence = { id: "s1", match: { script: "rates" }, until };
  assert.equal(matches(silence, alert, before), true);
  assert.equal(matches(silence, alert, Date.parse(until)), false);
  assert.equal(matches(silence, { ...alert, script: "tokens" }, before), false);
});

Deno.test("findSilence() skips expired silences and names the one in force", () => {
  const silences: Silence[] = [
    { id: "old", match: {}, until: "2026-06-10T12:00:00Z" },
    { id: "s2", match: { site: "BFI*" }, until, comment: "migrating the rates box" },
  ];
  const found = findSilence(silences, alert, before);
  assert.equal(found?.id, "s2");
  assert.equal(
    silenceNote(found!),
    "silenced by s2 until 2026-06-10T13:00:00Z: migrating the rates box",
  );
  assert.equal(silenceNote(silences[0]), "silenced by old until 2026-06-10T12:00:00Z");
});

import assert from "node:assert/strict";
import { describeSpans, parseSpans } from "./hours.ts";

Deno.test("parseSpans() reads day ranges, comma lists and 24-hour times", () => {
  assert.deepEqual(parseSpans("Mon-Fri 06:00-18:00"), {
    text: "Mon-Fri 06:00-18:00",
    days: [0, 1, 2, 3, 4],
    start: 360,
    end: 1080,
  });
  assert.deepEqual(parseSpans(" sat,Mon,wed-thu 09:30-24:00 ").days, [0, 2, 3, 5]);
  assert.equal(parseSpans("Sun 00:00-24:00").end, 1440);
});

Deno.test("parseSpans() lets a day range wrap past Sunday", () => {
  assert.deepEqual(parseSpans("Fri-Mon 08:00-18:00").days, [0, 4, 5, 6]);
  assert.deepEqual(parseSpans("Sun-Tue 08:00-18:00").days, [0, 1, 6]);
  assert.deepEqual(parseSpans("Wed-Wed 08:00-18:00").days, [2]);
});

Deno.test("parseSpans() reads an end at or before the start as the next day", () => {
  assert.deepEqual(parseSpans("Sun-Thu 22:00-06:30"), {
    text: "Sun-Thu 22:00-06:30",
    days: [0, 1, 2, 3, 6],
    start: 1320,
    end: 1830,
  });
  // Ending at midnight is the same either way; an equal end is a full 24 hours.
  assert.equal(parseSpans("Fri 18:00-00:00").end, 1440);
  assert.equal(parseSpans("Mon 08:00-08:00").end, 1920);
  assert.equal(parseSpans("Mon 00:00-00:00").end, 1440);
});

Deno.test("parseSpans() rejects bad specs with SyntaxError naming the value", () => {
  const cases: [string, string][] = [
    ["weekdays", ""],
    ["Mon-Fri 8-18", ""],
    ["Mon-Fri 08:00 to 18:00", ""],
    ["Mon-Fri 08:00-25:00", " (times run from 00:00 to 24:00)"],
    ["Mon-Fri 24:00-06:00", " (times run from 00:00 to 24:00)"],
    ["Mon-Fri 08:61-18:00", " (times run from 00:00 to 24:00)"],
    [
      "Mon-Fri-Sat 08:00-18:00",
      ' (unknown days "Mon-Fri-Sat"; use Mon, Tue, Wed, Thu, Fri, Sat, Sun)',
    ],
    ["Mon-Fry 08:00-18:00", ' (unknown days "Mon-Fry"; use Mon, Tue, Wed, Thu, Fri, Sat, Sun)'],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseSpans(text), {
      name: "SyntaxError",
      message:
        `Expected working hours like "Mon-Fri 08:00-18:00" (a span past midnight like "Sun-Thu 22:00-06:30"), got ${
          JSON.stringify(text)
        }${why}`,
    });
  }
});

Deno.test("describeSpans() lists the specs as written", () => {
  const spans = [parseSpans("Mon-Fri 06:00-18:00"), parseSpans(" Sat 08:00-12:00")];
  assert.equal(describeSpans(spans), "Mon-Fri 06:00-18:00, Sat 08:00-12:00");
});

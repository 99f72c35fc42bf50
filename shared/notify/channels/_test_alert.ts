/**
 * For the channel tests: a crash-looping alert with every field set.
 *
 * @module
 */

import type { Alert } from "../types.ts";

/** A firing crash-loop alert with stderr, link and one grouped member. */
export function testAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    rule: "crash-looping",
    severity: "critical",
    status: "firing",
    title: "rates is crash-looping on PICK-WS-07 (BFI4)",
    text: "rates exited 10 times within 10m; restarts are paused.",
    site: "BFI4",
    host: "PICK-WS-07",
    script: "rates",
    at: "2025-03-04T05:06:07.000Z",
    exitCode: 1,
    restarts: 10,
    stderrTail: [
      "Traceback (most recent call last):",
      '  File "rates.py", line 3',
      "KeyError: <token>",
    ],
    link: "https://scriptmon.example/scripts/BFI4/PICK-WS-07/rates",
    episode: "ep-1",
    group: [{
      rule: "crash-looping",
      severity: "critical",
      status: "firing",
      title: "rates is crash-looping on PICK-WS-08 (BFI4)",
      text: "rates exited 10 times within 10m.",
      site: "BFI4",
      host: "PICK-WS-08",
      script: "rates",
      at: "2025-03-04T05:06:09.000Z",
      exitCode: 2,
      episode: "ep-2",
    }],
    ...overrides,
  };
}

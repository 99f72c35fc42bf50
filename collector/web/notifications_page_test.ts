import assert from "node:assert/strict";
import { renderNotificationsPage } from "./notifications_page.tsx";
import type { MessageRecord } from "../../shared/notify/types.ts";

const viewer = {
  name: "vera",
  role: "viewer" as const,
  sites: null,
  sessionHash: "",
  session: { user: "vera", csrf: "x", createdAt: "", lastSeenAt: "", expiresAt: "" },
};

Deno.test("a retrying notification shows why its last attempt failed, and each attempt's answer", () => {
  const message: MessageRecord = {
    id: "m1",
    channel: "ops",
    dedupeKey: "k",
    payload: { type: "test", text: "hello" },
    state: "retrying",
    createdAt: "2026-12-05T10:00:00.000Z",
    updatedAt: "2026-12-05T10:00:05.000Z",
    attempts: 2,
    history: [
      { at: "2026-12-05T10:00:00.000Z", state: "queued" },
      { at: "2026-12-05T10:00:01.000Z", state: "sending", note: "attempt 1" },
      {
        at: "2026-12-05T10:00:01.200Z",
        state: "retrying",
        note: "HTTP 503: Service Unavailable; next attempt in 1s",
      },
      { at: "2026-12-05T10:00:02.500Z", state: "sending", note: "attempt 2" },
      {
        at: "2026-12-05T10:00:02.600Z",
        state: "retrying",
        note: "connection refused (127.0.0.1:9); next attempt in 2s",
      },
    ],
  };
  const html = renderNotificationsPage({
    messages: [message],
    filter: {},
    channels: ["ops"],
    sites: [],
    limit: 100,
  }, viewer);
  // The reason is on the row, not only behind a click.
  assert.match(
    html,
    /<summary>connection refused \(127\.0\.0\.1:9\); next attempt in 2s<\/summary>/,
  );
  const steps = [...html.matchAll(/<li><time[^>]*>[^<]+<\/time> ([^<]+)<\/li>/g)].map((m) => m[1]);
  assert.deepEqual(steps, [
    "queued",
    "sending: attempt 1",
    "retrying: HTTP 503: Service Unavailable; next attempt in 1s",
    "sending: attempt 2",
    "retrying: connection refused (127.0.0.1:9); next attempt in 2s",
  ]);
});

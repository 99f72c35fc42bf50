import assert from "node:assert/strict";
import { routeParams } from "./http.ts";

Deno.test("routeParams() decodes %-escapes and keeps a malformed one as it came", () => {
  assert.deepEqual(routeParams("/api/v1/alerts/:id/ack", "/api/v1/alerts/a%2Fb/ack"), {
    id: "a/b",
  });
  assert.deepEqual(
    routeParams("/api/v1/agents/:site/:host", "/api/v1/agents/%/%ED%A0%80"),
    { site: "%", host: "%ED%A0%80" },
  );
});

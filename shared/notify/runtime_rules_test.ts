import assert from "node:assert/strict";
import { parseRouteRequest } from "./runtime_rules.ts";

const options = {
  webhooks: ["ops"],
  createdBy: "api-token:ci",
  now: Date.parse("2026-12-06T08:00:00Z"),
};

Deno.test("a route added through the API takes hours and a zone, and refuses a calendar by name", () => {
  const route = parseRouteRequest(
    { route: { webhooks: ["ops"], timezone: "UTC", hours: ["Mon-Fri 08:00-18:00"] } },
    options,
  );
  assert.equal(route.route.hours?.[0].text, "Mon-Fri 08:00-18:00");
  assert.throws(
    () => parseRouteRequest({ route: { webhooks: ["ops"], calendar: "day_shift" } }, options),
    {
      name: "TypeError",
      message:
        'route.calendar: expected hours and timezone on a route added through the API (calendars are named in the config file), got "day_shift"',
    },
  );
});

import assert from "node:assert/strict";
import type { SessionUser } from "../auth/authenticate.ts";
import { type AgentConfigRow, agentStanding, renderConfigPage } from "./config_page.tsx";
import { renderFleetPage } from "./fleet_page.tsx";

const AT = "2026-12-01T12:00:00.000Z";
const HOSTILE = "<img src=x onerror=alert(1)>";

function user(role: "viewer" | "admin"): SessionUser {
  return {
    name: "ann",
    role,
    sites: null,
    sessionHash: "h",
    session: { user: "ann", csrf: "c", createdAt: AT, lastSeenAt: AT, expiresAt: AT },
  };
}

const row = (host: string, desired: number | null, running: number | null, refused?: number) =>
  ({
    site: "FC1",
    host,
    desired,
    applied: running === null && refused === undefined ? null : {
      version: running,
      at: AT,
      ...(refused === undefined ? {} : { refused: { version: refused, message: "bad" } }),
    },
  }) satisfies AgentConfigRow;

Deno.test("agentStanding(): on its version, behind it, refusing it, or on its file alone", () => {
  assert.equal(agentStanding(row("a", 3, 3)), "current");
  assert.equal(agentStanding(row("a", 3, 2)), "behind");
  assert.equal(agentStanding(row("a", 3, 2, 3)), "refused");
  // A refusal of an older version while it now runs the newest: current.
  assert.equal(agentStanding(row("a", 3, 3, 2)), "current");
  assert.equal(agentStanding(row("a", null, null)), "none");
});

Deno.test("the fleet page names workstations not on their config version; admins get a link", () => {
  const rows = [row("ws-1", 3, 2), row("ws-2", 3, 2, 3)];
  const input = { workstations: [], filter: {}, configBehind: rows };
  const html = renderFleetPage({ ...input, user: user("admin") });
  assert.match(
    html,
    /2 workstations are not on their config version \(1 refused it\): FC1\/ws-1 \(v2, should run v3\), FC1\/ws-2 \(v2, should run v3\)\. <a href="\/config">/,
  );
  assert.ok(!renderFleetPage({ ...input, user: user("viewer") }).includes('href="/config"'));
  assert.ok(
    !renderFleetPage({ ...input, configBehind: [], user: user("admin") }).includes("config-behind"),
  );
});

Deno.test("the config page lists refusals first and keeps a refusal's text as text", () => {
  const refusing = { ...row("ws-9", 3, 2, 3) };
  refusing.applied!.refused!.message = HOSTILE;
  const html = renderConfigPage({
    head: 3,
    agents: [row("ws-1", 3, 3), refusing],
    webhooks: [],
    documents: [],
    versions: [],
  }, user("admin"));
  assert.ok(html.indexOf("ws-9") < html.indexOf("ws-1"), "the refusing agent comes first");
  assert.ok(!html.includes(HOSTILE));
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
});

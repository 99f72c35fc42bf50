import assert from "node:assert/strict";
import { requiredAccess } from "./access.ts";
import { openApiDocument } from "../api/openapi.ts";

Deno.test("requiredAccess(): reads need viewer, changes admin, unless the table says otherwise", () => {
  assert.deepEqual(requiredAccess("GET", "/api/v1/scripts"), { role: "viewer", allSites: false });
  assert.deepEqual(requiredAccess("HEAD", "/api/v1/audit"), { role: "admin", allSites: true });
  assert.deepEqual(requiredAccess("POST", "/api/v1/agents/BFI4/ws-01/scripts/rates/stop"), {
    role: "operator",
    allSites: false,
  });
  assert.deepEqual(requiredAccess("POST", "/api/v1/something-new"), {
    role: "admin",
    allSites: false,
  });
  assert.deepEqual(requiredAccess("DELETE", "/api/v1/routes/r-1"), {
    role: "admin",
    allSites: true,
  });
});

Deno.test("the OpenAPI document offers the session cookie and names each operation's role", () => {
  const doc = openApiDocument() as {
    components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
    paths: Record<string, Record<string, { description?: string; security?: unknown[] }>>;
  };
  assert.deepEqual(
    { ...doc.components.securitySchemes.sessionCookie, description: undefined },
    { type: "apiKey", in: "cookie", name: "scriptmon_session", description: undefined },
  );
  const ack = doc.paths["/api/v1/alerts/{id}/ack"].post;
  assert.deepEqual(ack.security, [{ apiToken: [] }, { sessionCookie: [] }]);
  assert.match(ack.description!, /Role: operator\./);
  assert.match(
    doc.paths["/api/v1/audit"].get.description!,
    /Role: admin\. Needs a principal of every site/,
  );
  assert.deepEqual(doc.paths["/api/v1/ingest"].post.security, [{ agentToken: [] }]);
});

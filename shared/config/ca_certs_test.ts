import assert from "node:assert/strict";
import { readCaCerts } from "./ca_certs.ts";

const files = (texts: Record<string, string>) => ({
  readTextFile: (path: string) =>
    path in texts ? Promise.resolve(texts[path]) : Promise.reject(new Error("No such file")),
});

Deno.test("readCaCerts() reads the ca_file of each webhook that names one", async () => {
  const webhooks = {
    mail: { kind: "email", caFile: "/etc/ca.pem" },
    ops: { kind: "slack" },
  };
  assert.deepEqual(await readCaCerts(webhooks, files({ "/etc/ca.pem": "PEM" })), {
    mail: ["PEM"],
  });
});

Deno.test("readCaCerts() names the webhook and the file it cannot read", async () => {
  await assert.rejects(readCaCerts({ mail: { caFile: "/nope.pem" } }, files({})), {
    name: "Error",
    message: 'Cannot read webhooks.mail.ca_file "/nope.pem": No such file',
  });
});

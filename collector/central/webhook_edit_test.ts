import assert from "node:assert/strict";
import { setWebhook, shownUrl, WebhookEditError, webhooksOf } from "./webhook_edit.ts";

Deno.test("setWebhook() rewrites the url line of its table and nothing else", () => {
  const text = `[webhooks."ops"] # the ops room\nkind = "teams"\nurl = "https://a/x"\n\n` +
    `[webhooks.night]\nkind = "slack"\nurl = "https://n/x"\n`;
  assert.equal(
    setWebhook(text, "ops", { url: "https://b/y" }),
    text.replace('"https://a/x"', '"https://b/y"'),
  );
});

Deno.test("setWebhook() adds a table for a new webhook, which needs a kind", () => {
  assert.equal(
    setWebhook('[scripts.a]\ncommand = "a"\n', "ops", { url: "https://b/y", kind: "slack" }),
    '[scripts.a]\ncommand = "a"\n\n[webhooks.ops]\nkind = "slack"\nurl = "https://b/y"\n',
  );
  assert.throws(
    () => setWebhook("", "ops", { url: "https://b/y" }),
    new WebhookEditError('New webhook "ops": say its kind (slack, teams, ...)'),
  );
});

Deno.test("setWebhook() refuses a webhook written inline, asking for a text edit", () => {
  assert.throws(
    () => setWebhook('webhooks.ops = { kind = "slack", url = "https://a" }\n', "ops", { url: "x" }),
    WebhookEditError,
  );
});

Deno.test("webhooksOf() shows URLs only as far as the host", () => {
  assert.deepEqual(
    webhooksOf("fleet", '[webhooks.ops]\nkind = "slack"\nurl = "https://h.example/s/e/c"\n'),
    [
      { scope: "fleet", name: "ops", kind: "slack", shownUrl: "https://h.example/…" },
    ],
  );
  assert.equal(shownUrl("${OPS_URL}"), "${OPS_URL}");
  assert.equal(shownUrl("nope"), "(hidden: not a URL this collector can read)");
  assert.equal(
    shownUrl("${HOST}/services/T0/SECRET"),
    "(hidden: not a URL this collector can read)",
  );
});

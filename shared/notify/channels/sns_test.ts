import assert from "node:assert/strict";
import { createChannel } from "./mod.ts";
import { withRecordingServer } from "./_recording_server.ts";
import { testAlert } from "./_test_alert.ts";
import { signAws } from "./sns.ts";
import type { ResolvedSnsWebhook } from "../webhook_schema.ts";

const NOW = Date.parse("2025-03-04T05:06:07Z");
const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "session-token-abc",
};
const OK = {
  status: 200,
  body:
    "<PublishResponse><PublishResult><MessageId>m1</MessageId></PublishResult></PublishResponse>",
};

function webhook(endpoint: string, target: Partial<ResolvedSnsWebhook>): ResolvedSnsWebhook {
  return {
    name: "sns",
    kind: "sms",
    provider: "sns",
    region: "eu-west-1",
    ...CREDENTIALS,
    endpoint,
    maxAgeMs: 1,
    onUncertain: "skip",
    dedupeWindowMs: 1,
    ...target,
  };
}

Deno.test("SNS channel publishes to a topic with a form body and a SigV4 Authorization that recomputes", async () => {
  await withRecordingServer([OK], async (server) => {
    const topicArn = "arn:aws:sns:eu-west-1:123456789012:fc-ops";
    const channel = createChannel("sns", webhook(server.url, { topicArn }), {
      fetch,
      now: () => NOW,
    });
    const result = await channel.send({ type: "alert", alert: testAlert() }, {});
    assert.ok(result.ok);
    const [req] = server.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.path, "/");
    assert.equal(
      req.headers.get("content-type"),
      "application/x-www-form-urlencoded; charset=utf-8",
    );
    const form = new URLSearchParams(req.body);
    assert.equal(form.get("Action"), "Publish");
    assert.equal(form.get("Version"), "2010-03-31");
    assert.equal(form.get("TopicArn"), topicArn);
    assert.equal(form.get("PhoneNumber"), null);
    assert.equal(form.get("Subject"), "rates is crash-looping on PICK-WS-07 (BFI4)");
    assert.ok(form.get("Message")!.length <= 320);
    assert.equal(req.headers.get("x-amz-date"), "20250304T050607Z");
    assert.equal(req.headers.get("x-amz-security-token"), "session-token-abc");
    const authorization = req.headers.get("authorization")!;
    assert.match(
      authorization,
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250304\/eu-west-1\/sns\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    // What AWS does on arrival: sign the received request again and compare.
    const again = await signAws({
      method: req.method,
      url: `http://${req.headers.get("host")}${req.path}`,
      headers: { "content-type": req.headers.get("content-type")! },
      body: req.body,
      region: "eu-west-1",
      service: "sns",
      credentials: CREDENTIALS,
      date: new Date(NOW),
    });
    assert.equal(authorization, again.authorization);
  });
});

// The examples of AWS's General Reference, "Signature Version 4 signing process"
// ("Examples of the complete Signature Version 4 signing process"): an IAM ListUsers
// request signed with the documented example credentials.
const EXAMPLE_CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const FORM = "application/x-www-form-urlencoded; charset=utf-8";

Deno.test("signAws() matches AWS's documented GET example (2015-08-30)", async () => {
  const headers = await signAws({
    method: "GET",
    url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
    headers: { "Content-Type": FORM },
    body: "",
    region: "us-east-1",
    service: "iam",
    credentials: EXAMPLE_CREDENTIALS,
    date: new Date("2015-08-30T12:36:00Z"),
  });
  assert.deepEqual(headers, {
    authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
      "SignedHeaders=content-type;host;x-amz-date, " +
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    "content-type": FORM,
    "x-amz-date": "20150830T123600Z",
  });
});

Deno.test("signAws() matches AWS's documented POST example with a form body (2011-09-09)", async () => {
  const headers = await signAws({
    method: "POST",
    url: "http://iam.amazonaws.com/",
    headers: { "Content-type": FORM },
    body: "Action=ListUsers&Version=2010-05-08",
    region: "us-east-1",
    service: "iam",
    credentials: EXAMPLE_CREDENTIALS,
    date: new Date("2011-09-09T23:36:00Z"),
  });
  assert.equal(
    headers.authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/iam/aws4_request, " +
      "SignedHeaders=content-type;host;x-amz-date, " +
      "Signature=ced6826de92d2bdeed8f846f0bf508e8559e98e4b0199114b84c54174deb456c",
  );
});

Deno.test("signAws() signs and sends the session token of temporary credentials", async () => {
  const request = {
    method: "POST",
    url: "http://iam.amazonaws.com/",
    headers: { "content-type": FORM },
    body: "Action=ListUsers&Version=2010-05-08",
    region: "us-east-1",
    service: "iam",
    date: new Date("2011-09-09T23:36:00.678Z"),
  };
  const withToken = await signAws({
    ...request,
    credentials: { ...EXAMPLE_CREDENTIALS, sessionToken: "token/with+chars" },
  });
  assert.equal(withToken["x-amz-security-token"], "token/with+chars");
  assert.equal(withToken["x-amz-date"], "20110909T233600Z");
  assert.match(
    withToken.authorization,
    /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
  );
  const withoutToken = await signAws({ ...request, credentials: EXAMPLE_CREDENTIALS });
  assert.equal(withoutToken["x-amz-security-token"], undefined);
  // The same request as the documented example: milliseconds are dropped from the date.
  assert.match(withoutToken.authorization, /Signature=ced6826de92d2bdeed8f846f0bf508e8/);
});

Deno.test("SNS channel publishes once per phone number", async () => {
  await withRecordingServer([OK, OK], async (server) => {
    const channel = createChannel(
      "sns",
      webhook(server.url, { phoneNumbers: ["+14155550101", "+14155550102"] }),
      { fetch, now: () => NOW },
    );
    assert.ok((await channel.send({ type: "test", text: "hi" }, {})).ok);
    const forms = server.requests.map((r) => new URLSearchParams(r.body));
    assert.deepEqual(forms.map((f) => f.get("PhoneNumber")), ["+14155550101", "+14155550102"]);
    assert.deepEqual(forms.map((f) => f.get("Message")), ["[TEST] hi", "[TEST] hi"]);
    assert.equal(forms[0].get("TopicArn"), null);
  });
});

Deno.test("SNS channel retries a 400 Throttling answer and not a 400 InvalidParameter", async () => {
  const error = (code: string) => ({
    status: 400,
    body:
      `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>no</Message></Error></ErrorResponse>`,
  });
  await withRecordingServer([error("Throttling"), error("InvalidParameter")], async (server) => {
    const channel = createChannel(
      "sns",
      webhook(server.url, { topicArn: "arn:aws:sns:eu-west-1:123456789012:fc-ops" }),
      { fetch, now: () => NOW },
    );
    const throttled = await channel.send({ type: "test", text: "a" }, {});
    assert.ok(!throttled.ok && throttled.retryable);
    const invalid = await channel.send({ type: "test", text: "b" }, {});
    assert.ok(!invalid.ok && !invalid.retryable);
    assert.doesNotMatch(JSON.stringify([throttled, invalid]), /wJalrXUtnFEMI/);
  });
});

import assert from "node:assert/strict";
import { awsEncode, signatureParts, signingKey, toAmzDate, toHex } from "./sigv4.ts";

// The examples of AWS's General Reference, "Signature Version 4 signing process"
// (Tasks 1-4 and "Examples of the complete Signature Version 4 signing process"):
// an IAM ListUsers request signed with the documented example credentials.
const EXAMPLE_CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const FORM = "application/x-www-form-urlencoded; charset=utf-8";

Deno.test("signatureParts() matches AWS's documented GET example (2015-08-30)", async () => {
  const parts = await signatureParts({
    method: "GET",
    url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
    headers: { "Content-Type": FORM },
    body: "",
    region: "us-east-1",
    service: "iam",
    credentials: EXAMPLE_CREDENTIALS,
    date: new Date("2015-08-30T12:36:00Z"),
  });
  assert.equal(
    parts.canonicalRequest,
    [
      "GET",
      "/",
      "Action=ListUsers&Version=2010-05-08",
      `content-type:${FORM}`,
      "host:iam.amazonaws.com",
      "x-amz-date:20150830T123600Z",
      "",
      "content-type;host;x-amz-date",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ].join("\n"),
  );
  assert.equal(
    parts.stringToSign,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n" +
      "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
  );
  assert.equal(
    parts.headers.authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
      "SignedHeaders=content-type;host;x-amz-date, " +
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
  );
  assert.equal(parts.headers["x-amz-date"], "20150830T123600Z");
  assert.equal(parts.headers["x-amz-security-token"], undefined);
});

Deno.test("signatureParts() matches AWS's documented POST example with a form body (2011-09-09)", async () => {
  const parts = await signatureParts({
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
    parts.headers.authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/iam/aws4_request, " +
      "SignedHeaders=content-type;host;x-amz-date, " +
      "Signature=ced6826de92d2bdeed8f846f0bf508e8559e98e4b0199114b84c54174deb456c",
  );
});

Deno.test("signingKey() derives AWS's documented example keys", async () => {
  const secretAccessKey = EXAMPLE_CREDENTIALS.secretAccessKey;
  assert.equal(
    toHex(
      await signingKey({ secretAccessKey, day: "20150830", region: "us-east-1", service: "iam" }),
    ),
    "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
  );
  assert.equal(
    toHex(
      await signingKey({ secretAccessKey, day: "20110909", region: "us-east-1", service: "iam" }),
    ),
    "98f1d889fec4f4421adc522bab0ce1f82e6929c262ed15e5a94c90efd1e3b0e7",
  );
});

Deno.test("signatureParts() signs and returns the session token of temporary credentials", async () => {
  const parts = await signatureParts({
    method: "POST",
    url: "https://sns.eu-west-1.amazonaws.com/",
    headers: { "content-type": FORM },
    body: "Action=Publish",
    region: "eu-west-1",
    service: "sns",
    credentials: { ...EXAMPLE_CREDENTIALS, sessionToken: "token/with+chars" },
    date: new Date("2024-01-02T03:04:05.678Z"),
  });
  assert.equal(parts.headers["x-amz-security-token"], "token/with+chars");
  assert.match(
    parts.headers.authorization,
    /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,/,
  );
  assert.match(parts.canonicalRequest, /\nx-amz-security-token:token\/with\+chars\n/);
});

Deno.test("toAmzDate() and awsEncode() write what SigV4 expects", () => {
  assert.equal(toAmzDate(new Date("2024-01-02T03:04:05.678Z")), "20240102T030405Z");
  assert.equal(awsEncode("a b*c!~'()/+="), "a%20b%2Ac%21~%27%28%29%2F%2B%3D");
});

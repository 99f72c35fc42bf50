/**
 * AWS Signature Version 4 for one request, with WebCrypto: the canonical
 * request, the string to sign, the derived signing key and the headers to
 * add (`Authorization`, `X-Amz-Date`, `X-Amz-Security-Token`). Enough for
 * the query APIs (SNS Publish): the path is signed as given, the query
 * string is sorted and encoded the AWS way, and every header passed in is
 * signed along with `host`.
 *
 * @module
 */

/** AWS credentials; `sessionToken` for temporary (STS) ones. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** One request to sign. */
export interface SignOptions {
  method: string;
  url: string;
  /** Headers sent with the request; all of them are signed, plus `host`. */
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** The signing time. */
  date: Date;
}

/** The headers a signed request adds. */
export interface SignedHeaders {
  authorization: string;
  "x-amz-date": string;
  "x-amz-security-token"?: string;
}

/** The steps of a signature, for tests and debugging. */
export interface SignatureParts {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  headers: SignedHeaders;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const encoder = new TextEncoder();

/** Signs a request; returns the headers to add to it. */
export async function signRequest(options: SignOptions): Promise<SignedHeaders> {
  return (await signatureParts(options)).headers;
}

/** Signs a request and returns every intermediate step. */
export async function signatureParts(options: SignOptions): Promise<SignatureParts> {
  const url = new URL(options.url);
  const amzDate = toAmzDate(options.date);
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) {
    headers[name.toLowerCase()] = value;
  }
  headers.host ??= url.host;
  headers["x-amz-date"] = amzDate;
  if (options.credentials.sessionToken !== undefined) {
    headers["x-amz-security-token"] = options.credentials.sessionToken;
  }
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names
    .map((name) => `${name}:${headers[name].trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    options.method.toUpperCase(),
    url.pathname === "" ? "/" : url.pathname,
    canonicalQuery(url.searchParams),
    canonicalHeaders,
    signedHeaders,
    await sha256Hex(options.body),
  ].join("\n");
  const scope = `${day}/${options.region}/${options.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, await sha256Hex(canonicalRequest)].join("\n");
  const key = await signingKey({
    secretAccessKey: options.credentials.secretAccessKey,
    day,
    region: options.region,
    service: options.service,
  });
  const signature = toHex(await hmac(key, stringToSign));
  const result: SignedHeaders = {
    authorization: `${ALGORITHM} Credential=${options.credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`,
    "x-amz-date": amzDate,
  };
  if (options.credentials.sessionToken !== undefined) {
    result["x-amz-security-token"] = options.credentials.sessionToken;
  }
  return { canonicalRequest, stringToSign, signature, headers: result };
}

/** The key for one day, region and service: HMAC chain from `"AWS4" + secret`. */
export async function signingKey(
  options: { secretAccessKey: string; day: string; region: string; service: string },
): Promise<Uint8Array> {
  let key: Uint8Array = encoder.encode(`AWS4${options.secretAccessKey}`);
  for (const part of [options.day, options.region, options.service, "aws4_request"]) {
    key = await hmac(key, part);
  }
  return key;
}

/** `20150830T123600Z`. */
export function toAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Hex of SHA-256 of UTF-8 text. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/** HMAC-SHA256 of UTF-8 text. */
export async function hmac(key: Uint8Array, text: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text)));
}

/** Lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
export function awsEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([name, value]) => [awsEncode(name), awsEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/**
 * HMAC-SHA256 with WebCrypto, for the signature header of JSON posts.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Lower-case hex of HMAC-SHA256 of `text` under `key`, both taken as UTF-8. */
export async function hmacSha256Hex(key: string, text: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

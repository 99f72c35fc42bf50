import assert from "node:assert/strict";
import { hmacSha256Hex } from "./_hmac.ts";

Deno.test("hmacSha256Hex() matches RFC 4231 test case 2", async () => {
  assert.equal(
    await hmacSha256Hex("Jefe", "what do ya want for nothing?"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

Deno.test("hmacSha256Hex() takes key and text as UTF-8", async () => {
  // printf '%s' '1741064767.{"type":"test","text":"Größe"}' |
  //   openssl dgst -sha256 -hmac 'schlüssel-für-scriptmon'
  assert.equal(
    await hmacSha256Hex("schlüssel-für-scriptmon", '1741064767.{"type":"test","text":"Größe"}'),
    "ef1827da281a8d750eb428f61a96b160ee0e9e683ab519e9942fe5f0f0351df0",
  );
});

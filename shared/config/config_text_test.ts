import assert from "node:assert/strict";
import { decodeConfigText, encodingOf, normalizeConfigText } from "./config_text.ts";

Deno.test("encodingOf() goes by the byte order mark, UTF-8 without one", () => {
  assert.equal(encodingOf(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), "utf-8");
  assert.equal(encodingOf(new Uint8Array([0xff, 0xfe, 0x61, 0])), "utf-16le");
  assert.equal(encodingOf(new Uint8Array([0xfe, 0xff, 0, 0x61])), "utf-16be");
  assert.equal(encodingOf(new Uint8Array([0x61])), "utf-8");
  assert.equal(encodingOf(new Uint8Array([])), "utf-8");
});

Deno.test("decodeConfigText() drops the byte order mark and reads CRLF as LF", () => {
  const bytes = new Uint8Array([
    0xef,
    0xbb,
    0xbf,
    ...new TextEncoder().encode("a = 1\r\nb = 2\r\n"),
  ]);
  assert.equal(decodeConfigText(bytes), "a = 1\nb = 2\n");
});

Deno.test("normalizeConfigText() keeps a lone CR and every line's number", () => {
  assert.equal(normalizeConfigText("\uFEFFa\r\nb\rc\r\n"), "a\nb\rc\n");
  assert.equal(normalizeConfigText("a\nb"), "a\nb");
});

/**
 * A config file's bytes as the text both programs parse, whichever editor
 * saved it: UTF-8 with or without a byte order mark (Notepad writes one),
 * UTF-16 with one (Notepad's "Unicode"), CRLF line ends read as LF. Such a
 * file loads exactly like the same file written on Linux, on the same lines.
 *
 * @module
 */

/** The encoding a byte order mark at the start of `bytes` names; UTF-8 without one. */
export function encodingOf(bytes: Uint8Array): "utf-8" | "utf-16le" | "utf-16be" {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return "utf-8";
}

/** The text of a config file's `bytes`, decoded by its byte order mark, then {@linkcode normalizeConfigText}. */
export function decodeConfigText(bytes: Uint8Array): string {
  // TextDecoder drops the byte order mark; bytes that are not valid UTF-8 become U+FFFD.
  return normalizeConfigText(new TextDecoder(encodingOf(bytes)).decode(bytes));
}

/**
 * `text` without a leading byte order mark and with CRLF line ends as LF.
 * Lines keep their numbers, and columns too: a CR only ever ends a line.
 */
export function normalizeConfigText(text: string): string {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  return body.includes("\r\n") ? body.replaceAll("\r\n", "\n") : body;
}

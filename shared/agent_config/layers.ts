/**
 * Layers: config documents merged over the agent's local file, in order, after
 * its `[env.<name>]` overlay (issue 19: central config managed at the
 * collector). Tables merge and arrays and scalars replace, as with the overlay.
 * The local file pins what only it may say: a layer's `[agent]`, `[collector]`
 * and `[env]` tables are ignored by the parser; the collector refuses documents
 * that have them ({@linkcode pinnedKeysIn}).
 *
 * @module
 */

/** One config document merged over the local file. */
export interface ConfigLayer {
  /** What errors call the layer, in place of a file name: `central config v12 (site FC1)`. */
  name: string;
  /** Its TOML text. */
  text: string;
}

/** The top-level tables only the local file may set; a layer's are ignored. */
export const PINNED_KEYS = ["agent", "collector", "env"] as const;

/** One of {@linkcode PINNED_KEYS}. */
export type PinnedKey = typeof PINNED_KEYS[number];

/** The pinned top-level keys a parsed layer has, in {@linkcode PINNED_KEYS} order. */
export function pinnedKeysIn(tree: Readonly<Record<string, unknown>>): PinnedKey[] {
  return PINNED_KEYS.filter((key) => Object.hasOwn(tree, key));
}

/** `tree` without its pinned top-level keys. */
export function withoutPinned(tree: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tree)) {
    if (!(PINNED_KEYS as readonly string[]).includes(key)) kept[key] = value;
  }
  return kept;
}

/** Whether the key path `path` (dotted) lies under a pinned top-level key. */
export function isPinnedPath(path: string): boolean {
  const top = path.split(".", 1)[0];
  return (PINNED_KEYS as readonly string[]).includes(top);
}

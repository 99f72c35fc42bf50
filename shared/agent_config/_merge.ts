/**
 * Merging parsed TOML tables over each other (the `[env.<name>]` overlay, then
 * each layer), and keeping track of where each key of the result was written:
 * its line, and the layer's name when a layer wrote it, so that an error
 * points at the text a person has to edit.
 *
 * @module
 */

/** A parsed TOML table. */
export type Table = Record<string, unknown>;

/** Where a key was written: its line, and the layer's name unless it is the local file. */
export interface Place {
  line: number;
  /** The layer's name; absent for the local file. */
  file?: string;
}

/** Whether `value` is a TOML table (not an array, not a date). */
export function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** Deep-merges `overlay` into `base` (tables merge; arrays and scalars replace). */
export function mergeTables(base: Table, overlay: Table): Table {
  const merged: Table = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const under = merged[key];
    merged[key] = isTable(under) && isTable(value) ? mergeTables(under, value) : value;
  }
  return merged;
}

/** The value at `path` inside `table`, undefined when there is none. */
export function valueAt(table: unknown, path: readonly string[]): unknown {
  let value = table;
  for (const key of path) {
    value = isTable(value) || Array.isArray(value) ? (value as Table)[key] : undefined;
  }
  return value;
}

/** The places of one document's key `lines`, all in `file` (absent: the local file). */
export function placesOf(lines: ReadonlyMap<string, number>, file?: string): Map<string, Place> {
  const places = new Map<string, Place>();
  for (const [path, line] of lines) places.set(path, placeAt(line, file));
  return places;
}

/**
 * Updates `places` for `overlay` merged over the tables they describe, the
 * overlay's keys written at `lines` (paths relative to the overlay) in `file`:
 * a key the overlay sets is now at its line there, except a table both
 * define, which stays where it was first written; an array the overlay sets
 * replaces the one under it, whose places inside are forgotten.
 */
export function overlayPlaces(
  places: Map<string, Place>,
  overlay: Table,
  lines: ReadonlyMap<string, number>,
  file?: string,
): void {
  for (const path of lines.keys()) {
    if (!Array.isArray(valueAt(overlay, path.split(".")))) continue;
    for (const inner of places.keys()) {
      if (inner.startsWith(`${path}.`)) places.delete(inner);
    }
  }
  for (const [path, line] of lines) {
    if (!places.has(path) || !isTable(valueAt(overlay, path.split(".")))) {
      places.set(path, placeAt(line, file));
    }
  }
}

/** The place of `path`, or of its nearest enclosing key that has one. */
export function findPlace(
  places: ReadonlyMap<string, Place>,
  path: readonly string[],
): Place | undefined {
  for (let length = path.length; length > 0; length -= 1) {
    const found = places.get(path.slice(0, length).join("."));
    if (found !== undefined) return found;
  }
  return undefined;
}

function placeAt(line: number, file: string | undefined): Place {
  return file === undefined ? { line } : { line, file };
}

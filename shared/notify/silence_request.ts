/** A silence as an API asks for it (agent `POST /api/silences`, collector `POST /api/v1/silences`), checked and completed. */
import { parseDuration } from "../config/units.ts";
import { type AlertMatcher, MATCHER_FIELDS, type Silence } from "./silences.ts";

/**
 * `{ match: { script: "rates" }, for: "2h" | until: ISO, comment?, createdBy? }` →
 * a Silence with a fresh id. Throws TypeError/RangeError naming the field and value.
 */
export function parseSilenceRequest(body: unknown, now: number): Silence {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new TypeError("A silence must be a JSON object with match and for (or until)");
  }
  const b = body as Record<string, unknown>;
  const match = b.match;
  if (match === null || typeof match !== "object" || Array.isArray(match)) {
    throw new TypeError(
      `match must be an object of ${MATCHER_FIELDS.join(", ")}, got ${JSON.stringify(match)}`,
    );
  }
  const matcher: AlertMatcher = {};
  for (const [key, value] of Object.entries(match)) {
    if (!(MATCHER_FIELDS as readonly string[]).includes(key)) {
      throw new RangeError(
        `match.${key} is not a field; expected one of ${MATCHER_FIELDS.join(", ")}`,
      );
    }
    if (typeof value !== "string" || value === "") {
      throw new TypeError(`match.${key} must be a non-empty string, got ${JSON.stringify(value)}`);
    }
    matcher[key as keyof AlertMatcher] = value;
  }
  if (Object.keys(matcher).length === 0) {
    throw new RangeError(
      "match must name at least one field (a silence of everything is not allowed)",
    );
  }
  let until: number;
  if (typeof b.for === "string") until = now + parseDuration(b.for);
  else if (typeof b.until === "string" && !Number.isNaN(Date.parse(b.until))) {
    until = Date.parse(b.until);
  } else {throw new TypeError(
      `a silence needs for (a duration like "2h") or until (an ISO time), got ${
        JSON.stringify(b.for ?? b.until)
      }`,
    );}
  if (until <= now) {
    throw new RangeError(`until must be in the future, got ${new Date(until).toISOString()}`);
  }
  if (b.comment !== undefined && typeof b.comment !== "string") {
    throw new TypeError(`comment must be a string, got ${JSON.stringify(b.comment)}`);
  }
  return {
    id: `s-${crypto.randomUUID().slice(0, 8)}`,
    match: matcher,
    until: new Date(until).toISOString(),
    ...(b.comment ? { comment: (b.comment as string).slice(0, 500) } : {}),
    ...(typeof b.createdBy === "string" ? { createdBy: b.createdBy.slice(0, 100) } : {}),
  };
}

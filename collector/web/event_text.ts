/**
 * An agent's event as one sentence a person reads on the pages: "running →
 * backoff, pid 20724, exit code 3: 4 restarts within 1m; next start in
 * 30s", not `{"pid":20724}`. Values that are not plain text or numbers are
 * left out; the raw event stays in the API and the CSV export.
 *
 * @module
 */

/** Fields said in words by {@linkcode describeEvent}; any other plain field follows as "name value". */
const SAID = new Set([
  "state",
  "from",
  "reason",
  "pid",
  "exitCode",
  "signal",
  "check",
  "status",
  "previous",
  "value",
  "threshold",
  "alert",
  "restarted",
]);

/** The event's data in one line of plain text (escaped where it is shown). */
export function describeEvent(kind: string, data: Readonly<Record<string, unknown>>): string {
  const text = (key: string) =>
    typeof data[key] === "string" && data[key] !== "" ? data[key] as string : null;
  const number = (key: string) => typeof data[key] === "number" ? data[key] as number : null;
  const parts: string[] = [];
  if (kind === "check") {
    const check = text("check");
    const status = text("status");
    const previous = text("previous");
    if (check !== null || status !== null) {
      const change = previous !== null && status !== null ? `${previous} → ${status}` : status;
      parts.push([check, change].filter((p) => p !== null).join(" "));
    }
  } else {
    const from = text("from");
    const state = text("state");
    if (state !== null) parts.push(from !== null ? `${from} → ${state}` : state);
  }
  const pid = number("pid");
  if (pid !== null) parts.push(`pid ${pid}`);
  const exitCode = number("exitCode");
  const signal = text("signal");
  const reason = text("reason");
  const exit = signal !== null
    ? `killed by ${signal}`
    : exitCode !== null
    ? `exit code ${exitCode}`
    : null;
  // An exit event's reason already says how it ended ("exited with code 3").
  if (exit !== null && !(reason !== null && reason.includes(exit.replace("exit code", "code")))) {
    parts.push(exit);
  }
  if (data.restarted === true) parts.push("restarted");
  for (const [key, value] of Object.entries(data)) {
    if (SAID.has(key)) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      parts.push(`${key} ${value}`);
    }
  }
  const head = parts.join(", ");
  return reason === null ? head : head === "" ? reason : `${head}: ${reason}`;
}

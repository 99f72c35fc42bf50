/**
 * `scriptmon-agent status`'s table of scripts, for people (`--json` prints
 * the local API's body instead).
 *
 * @module
 */
import { formatTable } from "../../shared/table.ts";
import { formatBytes, formatDuration } from "../../shared/config/units.ts";
import type { ScriptStatus } from "../supervise/state.ts";

/** Prints one row per script: state, health, pid, uptime, restarts, memory, last exit, a note. */
export function printStatus(scripts: ScriptStatus[]): void {
  const now = Date.now();
  const rows = scripts.map((s) => [
    s.name,
    s.state + (s.crashLoop && s.state !== "crash-looping" ? " (crash loop)" : ""),
    // A script without checks has no health to speak of: "-", not "unknown".
    s.checks.length === 0 ? null : s.health,
    s.pid,
    s.uptimeMs === null ? null : formatDuration(s.uptimeMs),
    s.restarts,
    s.resources ? formatBytes(s.resources.rssBytes) : null,
    s.lastExit
      ? (s.lastExit.signal ?? `code ${s.lastExit.code}`)
      : s.schedule === null
      ? null
      : "never ran",
    s.checks.filter((c) => c.status === "failing" || c.status === "warning")
      .map((c) =>
        `${c.name}: ${c.reason}` +
        (c.intervalMs === undefined ? "" : ` (checked every ${formatDuration(c.intervalMs)})`)
      ).join("; ") ||
    nextRun(s, now) ||
    (s.offHours === "relax" || s.offHours === "run"
      ? `outside its active hours (off_hours = "${s.offHours}")`
      : null) ||
    s.reason ||
    heldHere(s),
  ]);
  console.log(formatTable(
    ["NAME", "STATE", "HEALTH", "PID", "UPTIME", "RESTARTS", "MEMORY", "LAST EXIT", "NOTE"],
    rows,
  ));
}

/** "runs here for the machine (ann, pid 4242)" for a singleton this agent holds; null otherwise. */
function heldHere(s: ScriptStatus): string | null {
  if (!s.singleton?.here) return null;
  return `runs here for the ${s.singleton.scope}` +
    (s.singleton.holder ? ` (${s.singleton.holder})` : "");
}

/** "next run 03:00 (in 2h 53m)" for a scheduled script waiting for its time; null otherwise. */
function nextRun(s: ScriptStatus, now: number): string | null {
  if (s.schedule === null || s.nextStartAt === null || s.pid !== null) return null;
  const at = Date.parse(s.nextStartAt);
  const local = new Date(at);
  const clock = [local.getHours(), local.getMinutes()].map((n) => String(n).padStart(2, "0"))
    .join(":");
  return `next run ${clock} (in ${formatDuration(Math.max(0, at - now))}; ${s.schedule})`;
}

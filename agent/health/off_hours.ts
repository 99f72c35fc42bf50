/**
 * Whether a script is outside its `active` hours, and what its `off_hours`
 * says then: the supervisor (start and stop), the health checks (stretched
 * by `relax_factor`) and the alert rules all ask this one question.
 *
 * @module
 */
import type { ResolvedScript } from "../../shared/agent_config/types.ts";

/** `script`'s `off_hours` while its calendar is closed at `at`; null inside (or with no calendar). */
export function offHoursAt(script: ResolvedScript, at: number): "stop" | "relax" | "run" | null {
  const active = script.active;
  if (active === undefined || active.calendar.isOpen(at)) return null;
  return active.offHours;
}

/** How many times longer `script`'s heartbeat timeout and probe intervals are at `at`. */
export function stretchAt(script: ResolvedScript, at: number): number {
  return offHoursAt(script, at) === "relax" ? script.active!.relaxFactor : 1;
}

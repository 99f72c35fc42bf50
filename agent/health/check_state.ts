/** Building and changing `CheckState`s the same way for every check. */
import type { CheckState, CheckStatus } from "./types.ts";

/** A check that has not run yet. */
export function initialState(name: string, at: number, threshold?: number): CheckState {
  return {
    name,
    status: "unknown",
    reason: "not running",
    threshold,
    since: new Date(at).toISOString(),
    checkedAt: null,
    consecutiveFailures: 0,
    failuresTotal: 0,
  };
}

/** `state` moved to `status` at `at` (counting failures); the same object shape, new values. */
export function nextState(
  state: CheckState,
  update: { status: CheckStatus; reason: string; at: number; value?: number },
): CheckState {
  const changed = state.status !== update.status;
  const failing = update.status === "failing";
  return {
    ...state,
    status: update.status,
    reason: update.reason,
    value: update.value,
    since: changed ? new Date(update.at).toISOString() : state.since,
    checkedAt: new Date(update.at).toISOString(),
    consecutiveFailures: failing ? (changed ? 1 : state.consecutiveFailures) : 0,
    failuresTotal: state.failuresTotal + (changed && failing ? 1 : 0),
  };
}

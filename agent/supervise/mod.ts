/**
 * Running the scripts: the supervisor over one runner per script (spawn, backoff, crash loops,
 * stop and adopt), their states and the event log, PID records, the single-instance lock and the
 * site lease for `singleton = "site"`.
 *
 * @module
 */

export { closedReason } from "./active_hours.ts";
export { EventLog } from "./event_log.ts";
export type { AgentEvent, NewEvent } from "./event_log.ts";
export { acquireInstanceLock, readLockHolder } from "./instance_lock.ts";
export {
  readPidRecord,
  removePidRecord,
  removeStalePidRecords,
  verifyPidRecord,
  writePidRecord,
} from "./pid_records.ts";
export { ScriptRunner } from "./script_runner.ts";
export { POLL_MS as MACHINE_POLL_MS } from "./machine_singleton.ts";
export { isPattern, NoMatchError, selectScripts } from "./select.ts";
export { SiteLeaseManager } from "./site_lease.ts";
export { SCRIPT_STATES } from "./state.ts";
export type { ScriptState, ScriptStatus } from "./state.ts";
export { Supervisor, UnknownScriptError } from "./supervisor.ts";
export { writeFileAtomic } from "./_atomic_write.ts";

/**
 * What a killed agent's script left behind. A script runs as the leader of
 * its own process group (and session), so its PID record's pid is also the
 * group's id: when the recorded process is gone but members of its group
 * live on (a worker a shell wrapper started, a child that ignores SIGTERM),
 * they are stopped — stop signal, then SIGKILL after stop_timeout — before
 * a new copy starts, whether `run` or `once` comes next.
 *
 * A Linux pid is not reused while it names a live group, so the members
 * found are that script's, never another program's.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import type { Platform } from "../platform/types.ts";
import type { PidRecord } from "./pid_records.ts";
import { reapGroup } from "./_terminate.ts";

/** Stops the live members of the group of a record whose process is gone. */
export async function stopSurvivors(
  record: PidRecord,
  ctx: { platform: Platform; clock: Clock; script: ResolvedScript },
): Promise<void> {
  const log = getLogger(["scriptmon", "script", ctx.script.name]);
  await reapGroup(record.pid, "left over", { ...ctx, log });
}

/**
 * `scriptmon-agent once`: one pass of every check, for cron or Task
 * Scheduler. Every enabled script must be running; one that is not is
 * started detached (its output appended to its log file) under the data
 * dir's lock, so two passes at the same moment never start it twice. When a
 * daemon holds the lock, the pass reads the daemon's status instead.
 */
import { closedReason } from "./supervise/active_hours.ts";
import { join } from "node:path";
import type { ResolvedAgentConfig, ResolvedScript } from "../shared/agent_config/types.ts";
import { EventLog } from "./supervise/event_log.ts";
import { findExecutable } from "./platform/find_executable.ts";
import { acquireInstanceLock, readLockHolder } from "./supervise/instance_lock.ts";
import { openAgentStore } from "./kv.ts";
import { withStoredCentral } from "./config/central.ts";
import {
  readPidRecord,
  removePidRecord,
  verifyPidRecord,
  writePidRecord,
} from "./supervise/pid_records.ts";
import { stopSurvivors } from "./supervise/survivors.ts";
import { systemClock } from "./clock.ts";
import type { Platform, ProcessSample } from "./platform/types.ts";
import { runProbe } from "./health/probes.ts";
import { treeUsage } from "./health/resources.ts";
import { diskFree } from "./health/sampler.ts";
import { formatBytes, formatDuration } from "../shared/config/units.ts";
import type { ScriptStatus } from "./supervise/state.ts";
import { blockedBy, checkTokensOnce, timeLeft, tokenSeverity } from "./tokens/once.ts";
import type { TokenStatus } from "./tokens/types.ts";

/** Nagios-style result levels, in order of severity. */
export const SEVERITY = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;

/** A result level. */
export type Severity = keyof typeof SEVERITY;

/** One line of the report. */
export interface OnceCheck {
  /** The script, or "agent" for the agent's own checks. */
  script: string;
  /** "process" (is it running), or a health check: "heartbeat", "probe:api", "memory", "disk:<path>"... */
  check: string;
  severity: Severity;
  /** The script's state; null on the agent's own checks (a `once` pass is no running agent). */
  state: string | null;
  pid: number | null;
  message: string;
}

/** What a pass found and did. */
export interface OnceReport {
  /** "daemon" when a running agent answered, "once" when this pass checked itself. */
  source: "daemon" | "once";
  checks: OnceCheck[];
  /** 0 ok, 1 warning, 2 critical, 3 unknown: the worst check. */
  exitCode: number;
}

/** What a pass needs. */
export interface OnceDeps {
  platform: Platform;
  /** Fetches a running daemon's status; given the holder's API port. */
  daemonStatus: (apiPort: number) => Promise<ScriptStatus[]>;
  /** Fetches a running daemon's tokens (none when not given). */
  daemonTokens?: (apiPort: number) => Promise<TokenStatus[]>;
  /** How long to wait for another `once` holding the lock (default 30 s). */
  lockWaitMs?: number;
}

/** Runs one pass; see the module comment. */
export async function runOnce(local: ResolvedAgentConfig, deps: OnceDeps): Promise<OnceReport> {
  const { dataDir } = local.agent;
  let config = local;
  const holder = await readLockHolder(dataDir);
  if (holder?.mode === "run" && typeof holder.apiPort === "number") {
    const statuses = await deps.daemonStatus(holder.apiPort);
    const tokens = (await deps.daemonTokens?.(holder.apiPort)) ?? [];
    return report("daemon", [...statuses.flatMap(checksFromStatus), ...tokens.map(tokenCheck)]);
  }
  const lock = await acquireInstanceLock(dataDir, {
    mode: "once",
    waitMs: deps.lockWaitMs ?? 30_000,
  });
  try {
    const pidDir = join(dataDir, "pids");
    await Deno.mkdir(pidDir, { recursive: true });
    await Deno.mkdir(config.agent.logDir, { recursive: true });
    const kv = await openAgentStore(dataDir);
    try {
      // The central config a daemon last applied here applies to the pass as well.
      config = await withStoredCentral(local, kv);
      const events = await EventLog.open(kv);
      const tokens = await checkTokensOnce(config.tokens, { kv });
      const checks: OnceCheck[] = tokens.map(tokenCheck);
      const table = await deps.platform.processTable();
      for (const script of Object.values(config.scripts)) {
        const blocked = blockedBy(script.name, tokens);
        const process = await ensureRunning(script, {
          ...deps,
          pidDir,
          config,
          events,
          blocked,
        });
        checks.push(process);
        if (process.state === "running" && process.pid && process.severity === "ok") {
          checks.push(...(await healthOnce(script, process.pid, { table, config })));
        }
      }
      checks.push(...(await agentChecks(config)));
      await events.flush();
      return report("once", checks);
    } finally {
      kv.close();
    }
  } finally {
    await lock.release();
  }
}

async function ensureRunning(
  script: ResolvedScript,
  ctx: OnceDeps & {
    pidDir: string;
    config: ResolvedAgentConfig;
    events: EventLog;
    /** Why a token the script uses keeps it from starting; null when none does. */
    blocked: string | null;
  },
): Promise<OnceCheck> {
  const base = { script: script.name, check: "process", pid: null };
  if (!script.enabled) return { ...base, severity: "ok", state: "stopped", message: "disabled" };
  const closed = closedReason(script, Date.now());
  if (closed !== null) return { ...base, severity: "ok", state: "stopped", message: closed };
  if (script.schedule) {
    return {
      ...base,
      severity: "ok",
      state: "scheduled",
      message: `scheduled (${script.schedule.cron}); runs under \`scriptmon-agent run\``,
    };
  }
  const { record } = await readPidRecord(ctx.pidDir, script.name);
  if (record) {
    const verdict = await verifyPidRecord(record, ctx.platform);
    if (verdict.status === "alive") {
      const up = Date.now() - Date.parse(record.startedAt);
      return {
        ...base,
        pid: record.pid,
        severity: "ok",
        state: "running",
        message: `running for ${formatDuration(up)} (started by ${record.owner})`,
      };
    }
    await removePidRecord(ctx.pidDir, script.name);
    // Its leader is gone; what it left in its group (a worker, a child that ignored the
    // agent's death) is stopped before a second copy could start beside it.
    if (verdict.status === "gone") {
      await stopSurvivors(record, { platform: ctx.platform, clock: systemClock, script });
    }
  }
  if (ctx.blocked !== null) {
    return { ...base, severity: "warning", state: "waiting-for-token", message: ctx.blocked };
  }
  const found = await findExecutable(script.command[0], {
    cwd: script.cwd,
    path: script.env.PATH ?? Deno.env.get("PATH"),
    pathExt: Deno.env.get("PATHEXT"),
  });
  if (!found) {
    return {
      ...base,
      severity: "critical",
      state: "failed",
      message: `not running, and cannot start: command "${script.command[0]}" not found`,
    };
  }
  const logPath = join(ctx.config.agent.logDir, `${script.name}.log`);
  try {
    const { pid } = await ctx.platform.spawnDetached(script.command, {
      cwd: script.cwd,
      env: {
        // Pings reach the daemon once one runs (on the configured port; 0 means none is known).
        ...(ctx.config.agent.apiPort > 0
          ? {
            SCRIPTMON_PING_URL: `http://127.0.0.1:${ctx.config.agent.apiPort}/ping/${
              encodeURIComponent(script.name)
            }`,
          }
          : {}),
        ...script.env,
        SCRIPTMON_SCRIPT: script.name,
      },
      logPath,
    });
    const info = await ctx.platform.inspect(pid);
    if (!info) throw new Error("it exited at once");
    await writePidRecord(ctx.pidDir, {
      script: script.name,
      pid,
      startTime: info.startTime,
      argv: script.command,
      owner: "once",
      agentPid: Deno.pid,
      startedAt: new Date().toISOString(),
      logPath,
    });
    ctx.events.append({
      kind: "state",
      script: script.name,
      from: "stopped",
      state: "running",
      pid,
      reason: "was not running; started by once",
    });
    return {
      ...base,
      pid,
      severity: "warning",
      state: "running",
      message: `was not running; started (pid ${pid}, output to ${logPath})`,
    };
  } catch (error) {
    return {
      ...base,
      severity: "critical",
      state: "failed",
      message: `not running, and starting it failed: ${(error as Error).message}`,
    };
  }
}

function checksFromStatus(s: ScriptStatus): OnceCheck[] {
  const severity: Severity = s.state === "running" || s.state === "exited" ||
      s.state === "scheduled" ||
      (s.state === "stopped" && (!s.enabled || s.offHours === "stop"))
    ? "ok"
    : s.state === "crash-looping" || s.state === "failed"
    ? "critical"
    : "warning";
  const process: OnceCheck = {
    script: s.name,
    check: "process",
    severity,
    state: s.state,
    pid: s.pid,
    message: s.reason ?? (s.state === "running" ? "running under the daemon" : s.state),
  };
  const health = s.checks
    .filter((c) => c.status === "failing" || c.status === "warning")
    .map((c): OnceCheck => ({
      script: s.name,
      check: c.name,
      severity: c.status === "failing" ? "critical" : "warning",
      state: s.state,
      pid: s.pid,
      message: c.reason,
    }));
  return [process, ...health];
}

/** The health checks a single pass can make of a running script. */
async function healthOnce(
  script: ResolvedScript,
  pid: number,
  ctx: { table: ProcessSample[]; config: ResolvedAgentConfig },
): Promise<OnceCheck[]> {
  const out: OnceCheck[] = [];
  const row = (check: string, severity: Severity, message: string) =>
    out.push({ script: script.name, check, severity, state: "running", pid, message });
  const now = Date.now();
  const { heartbeat, silence, probes, limits } = script.health;
  if (heartbeat?.file) {
    const mtime = await Deno.stat(heartbeat.file).then(
      (s) => s.mtime?.getTime() ?? null,
      () => null,
    );
    const limit = heartbeat.timeoutMs + heartbeat.graceMs;
    if (mtime === null) {
      row("heartbeat", "critical", `heartbeat file ${heartbeat.file} does not exist`);
    } else if (now - mtime > limit) {
      row(
        "heartbeat",
        "critical",
        `heartbeat file not touched for ${formatDuration(now - mtime)} (limit ${
          formatDuration(limit)
        })`,
      );
    } else row("heartbeat", "ok", `heartbeat file touched ${formatDuration(now - mtime)} ago`);
  }
  if (silence) {
    // Detached scripts write straight to their log: its mtime is the last output.
    const logPath = join(ctx.config.agent.logDir, `${script.name}.log`);
    const mtime = await Deno.stat(logPath).then((s) => s.mtime?.getTime() ?? null, () => null);
    if (mtime !== null && now - mtime > silence.timeoutMs) {
      row(
        "silence",
        "critical",
        `no output for ${formatDuration(now - mtime)} (silence_timeout ${
          formatDuration(silence.timeoutMs)
        })`,
      );
    } else if (mtime !== null) {
      row("silence", "ok", `last output ${formatDuration(now - mtime)} ago`);
    }
  }
  for (const probe of probes) {
    const result = await runProbe(probe);
    row(`probe:${probe.name}`, result.ok ? "ok" : "critical", result.reason);
  }
  const usage = treeUsage(ctx.table, pid);
  if (limits && usage) {
    const rss = usage.rssBytes;
    const mem = `memory ${formatBytes(rss)}`;
    if (limits.memoryRestartBytes !== undefined && rss > limits.memoryRestartBytes) {
      row(
        "memory",
        "critical",
        `${mem} over the restart limit ${formatBytes(limits.memoryRestartBytes)}`,
      );
    } else if (limits.memoryWarnBytes !== undefined && rss > limits.memoryWarnBytes) {
      row("memory", "warning", `${mem} over the warn limit ${formatBytes(limits.memoryWarnBytes)}`);
    } else if (limits.memoryWarnBytes !== undefined || limits.memoryRestartBytes !== undefined) {
      row("memory", "ok", `${mem} within limits`);
    }
  }
  return out;
}

/** Free disk of the data and log folders. */
async function agentChecks(config: ResolvedAgentConfig): Promise<OnceCheck[]> {
  const { dataDir, logDir, diskWarnBytes } = config.agent;
  const out: OnceCheck[] = [];
  for (const path of new Set([dataDir, logDir])) {
    const free = await diskFree(path);
    if (free === null) continue;
    out.push({
      script: "agent",
      check: `disk:${path}`,
      severity: free < diskWarnBytes ? "warning" : "ok",
      state: null,
      pid: null,
      message: `${formatBytes(free)} free (disk_warn ${formatBytes(diskWarnBytes)})`,
    });
  }
  return out;
}

/** One token as a report line: ok, warning inside warn_before, critical when expired or invalid. */
function tokenCheck(t: TokenStatus): OnceCheck {
  return {
    script: "agent",
    check: `token:${t.name}`,
    severity: tokenSeverity(t.state),
    state: t.state,
    pid: null,
    message: `${t.reason}; time left ${timeLeft(t)}` +
      (t.usedBy.length ? `; used by ${t.usedBy.join(", ")}` : ""),
  };
}

function report(source: OnceReport["source"], checks: OnceCheck[]): OnceReport {
  const exitCode = Math.max(0, ...checks.map((c) => SEVERITY[c.severity]));
  return { source, checks, exitCode };
}

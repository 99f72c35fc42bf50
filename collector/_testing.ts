/**
 * Builders of wire requests for the collector's tests and benchmark.
 *
 * @module
 */

import type { IngestRequest, ScriptSummary, WireEvent } from "../shared/protocol.ts";

/** A script summary with sensible defaults. */
export function script(name: string, overrides: Partial<ScriptSummary> = {}): ScriptSummary {
  return {
    name,
    state: "running",
    health: "healthy",
    enabled: true,
    pid: 1234,
    uptimeMs: 60_000,
    restarts: 0,
    rssBytes: 10_000_000,
    cpuPercent: 1.5,
    lastExit: null,
    checks: [],
    reason: null,
    ...overrides,
  };
}

/** Events with seqs `seqs`, `at` one second apart from `baseMs`. */
export function events(seqs: number[], baseMs = Date.parse("2026-05-01T12:00:00Z")): WireEvent[] {
  return seqs.map((seq) => ({
    seq,
    at: new Date(baseMs + seq * 1000).toISOString(),
    kind: seq % 2 === 0 ? "state" : "check",
    script: "rates",
    data: { state: "running", n: seq },
  }));
}

/** An ingest request from `site`/`host` (parsed form). */
export function ingestRequest(
  options: {
    site?: string;
    host?: string;
    events?: WireEvent[];
    scripts?: ScriptSummary[];
    acks?: IngestRequest["acks"];
    now?: string;
  } = {},
): IngestRequest {
  return {
    protocol: 1,
    agent: {
      site: options.site ?? "BFI4",
      host: options.host ?? "ws-01",
      version: "0.1.0",
      os: "linux",
      pid: 4242,
      startedAt: "2026-05-01T11:00:00.000Z",
      now: options.now ?? new Date().toISOString(),
    },
    scripts: options.scripts ?? [script("rates"), script("token_monitor")],
    events: options.events ?? [],
    acks: options.acks ?? [],
    dropped: 0,
  };
}

/**
 * One simulated workstation's ingest for the benchmarks: `batch` resource-sample events numbered
 * from `agent.seq + 1` (advancing it) and the heartbeat's `scripts`, all stamped now.
 */
export function sampleIngest(
  agent: { site: string; host: string; seq: number },
  options: { pid: number; batch: number; scripts: ScriptSummary[] },
): IngestRequest {
  const at = new Date().toISOString();
  return {
    protocol: 1,
    agent: {
      site: agent.site,
      host: agent.host,
      version: "0.1.0",
      os: "linux",
      pid: options.pid,
      startedAt: "2026-05-01T11:00:00.000Z",
      now: at,
    },
    scripts: options.scripts,
    events: Array.from({ length: options.batch }, () => ({
      seq: ++agent.seq,
      at,
      kind: "sample",
      script: "script_1",
      data: { rssBytes: 12_345_678, cpuPercent: 2.5 },
    })),
    acks: [],
    dropped: 0,
  };
}

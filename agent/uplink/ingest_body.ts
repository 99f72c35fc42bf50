/**
 * What the agent tells the collector, shaped for the wire: script and token
 * summaries (no token values, reasons cut to size), and an ingest body fitted
 * within the collector's limit, every registered secret redacted.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { redact } from "../../shared/redact.ts";
import {
  type IngestRequestInput,
  MAX_INGEST_BYTES,
  type ScriptSummary,
  type TokenSummary,
  type WireEvent,
} from "../../shared/protocol.ts";
import type { ScriptStatus } from "../supervise/state.ts";
import type { TokenStatus } from "../tokens/types.ts";

const log = getLogger(["scriptmon", "collector"]);

/** Reasons and messages sent are cut to this many characters. */
export const TEXT_LIMIT = 1000;

/** A script's status as a heartbeat reports it. */
export function toScriptSummary(s: ScriptStatus): ScriptSummary {
  return {
    name: s.name,
    state: s.state,
    health: s.health,
    enabled: s.enabled,
    pid: s.pid,
    uptimeMs: s.uptimeMs,
    restarts: s.restarts,
    rssBytes: s.resources ? Math.max(0, s.resources.rssBytes) : null,
    cpuPercent: s.resources?.cpuPercent == null ? null : Math.max(0, s.resources.cpuPercent),
    lastExit: s.lastExit
      ? {
        at: s.lastExit.at,
        code: s.lastExit.code,
        signal: s.lastExit.signal,
        runtimeMs: Math.max(0, s.lastExit.runtimeMs),
      }
      : null,
    checks: s.checks.slice(0, 100).map((c) => ({
      name: c.name.slice(0, 200),
      status: c.status,
      reason: cut(c.reason),
      ...(c.alert === false ? { alert: false } : {}),
    })),
    reason: s.reason === null ? null : cut(s.reason),
    schedule: s.schedule === null ? null : s.schedule.slice(0, 200),
    ...(s.singleton
      ? {
        singleton: {
          scope: s.singleton.scope,
          here: s.singleton.here,
          holder: s.singleton.holder === null ? null : s.singleton.holder.slice(0, 200),
        },
      }
      : {}),
    ...(s.offHours === undefined ? {} : { offHours: s.offHours }),
    ...(s.posted === undefined ? {} : { posted: s.posted }),
    ...(s.heartbeat === null || s.heartbeat.pings === 0 ? {} : { pings: s.heartbeat.pings }),
    ...(s.anomalies === false ? { anomalies: false } : {}),
  };
}

/**
 * `summary` as a collector that did not say `script-extras` takes it (see
 * `COLLECTOR_FEATURES_HEADER`): an older one refuses keys it does not know.
 */
export function withoutExtras(summary: ScriptSummary): ScriptSummary {
  const { offHours: _o, posted: _p, pings: _i, anomalies: _a, ...rest } = summary;
  if (rest.lastExit === null) return rest;
  const { runtimeMs: _r, ...exit } = rest.lastExit;
  return { ...rest, lastExit: exit };
}

/** What the collector is told of a token: no value, no reasons (they may name paths). */
export function toTokenSummary(t: TokenStatus): TokenSummary {
  return {
    name: t.name,
    state: t.state,
    expiresAt: t.expiresAt,
    secondsLeft: t.secondsLeft,
    predicted: t.predicted,
    confidence: t.confidence,
    usedBy: t.usedBy,
  };
}

/** `text` cut to `limit` characters, with "..." when it was longer. */
export function cut(text: string, limit = TEXT_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit - 3)}...` : text;
}

/** An ingest body within the collector's limit, and the events it carries. */
export interface FittedIngest {
  body: string;
  /** The events sent, in seq order (one may be sent reduced). */
  sent: WireEvent[];
}

/** Check reasons are cut to this when the summaries alone make an ingest too big. */
const TRIMMED_REASON = 200;

/**
 * Builds an ingest body within `limit` bytes, so that the collector never
 * answers 413 for good and the seq keeps moving: first fewer events (the
 * rest follow at once); then, with one event still too big, trimmed script
 * summaries (check reasons cut to 200 characters, then no checks, then fewer
 * scripts); and an event too big on its own goes as
 * `data: { truncated: true, size }`.
 */
export function fitIngest(
  build: (scripts: ScriptSummary[], events: WireEvent[]) => IngestRequestInput,
  scripts: ScriptSummary[],
  events: WireEvent[],
  limit: number = MAX_INGEST_BYTES,
): FittedIngest {
  const encoder = new TextEncoder();
  const fits = (body: string) => encoder.encode(body).length <= limit;
  // Reasons, log lines and messages may quote a secret of the config: none leaves the agent.
  // Each string value is redacted, never the JSON text: a secret of digits or one ending in a
  // backslash must not break the body.
  const text = (list: ScriptSummary[], sent: WireEvent[]) =>
    JSON.stringify(
      build(list, sent),
      (_key, value) => typeof value === "string" ? redact(value) : value,
    );
  /** The most events (halving) that fit with `list`, or null when not even one does. */
  const withEvents = (list: ScriptSummary[]): FittedIngest | null => {
    let sent = events;
    let body = text(list, sent);
    while (!fits(body) && sent.length > 1) {
      sent = sent.slice(0, Math.ceil(sent.length / 2));
      body = text(list, sent);
    }
    return fits(body) ? { body, sent } : null;
  };

  const full = withEvents(scripts);
  if (full) return full;
  // One event alone too big (whatever the summaries): it goes reduced.
  let first = events.slice(0, 1);
  if (first.length === 1 && !fits(text([], first))) {
    const size = encoder.encode(JSON.stringify(first[0])).length;
    first = [{ ...first[0], data: { truncated: true, size } }];
    log.warn("Event {seq} is too big to send ({size} bytes): sending it truncated", {
      seq: first[0].seq,
      size,
    });
  }
  const trimmed = scripts.map((s) => ({
    ...s,
    reason: s.reason === null ? null : cut(s.reason, TRIMMED_REASON),
    checks: s.checks.map((c) => ({ ...c, reason: cut(c.reason, TRIMMED_REASON) })),
  }));
  const bare = trimmed.map((s) => ({ ...s, checks: [] }));
  for (const list of [trimmed, bare]) {
    if (first[0] === events[0]) {
      // The first event fits as it is: as many as fit with these summaries.
      const more = withEvents(list);
      if (more) return more;
    }
    const body = text(list, first);
    if (fits(body)) return { body, sent: first };
  }
  // The summaries without checks still too big: as many scripts as fit.
  let list = bare;
  let body = text(list, first);
  while (!fits(body) && list.length > 0) {
    list = list.slice(0, Math.floor(list.length / 2));
    body = text(list, first);
  }
  log.warn("The ingest is too big with every script: sending {sent} of {total}", {
    sent: list.length,
    total: scripts.length,
  });
  return { body, sent: first };
}

/** An error's message, with its cause's (fetch says only "fetch failed", the cause says why). */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

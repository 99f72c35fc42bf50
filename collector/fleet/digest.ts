/**
 * A site's (or the fleet's) digest of a past period (issue 18): uptime and
 * restarts per script, the incidents with their durations, the anomalies,
 * the tokens expiring or expired now, and the notifications sent and failed.
 * The reports page renders it, `GET /api/v1/reports/digest` answers it, and
 * `[[reports]]` sends it on a schedule ({@linkcode digestText}).
 *
 * @module
 */
import type { Outbox } from "../../shared/notify/outbox.ts";
import { formatDuration } from "../../shared/config/units.ts";
import { plural } from "../../shared/trends/mod.ts";
import type { Store } from "../store/store.ts";
import { formatRatio, uptimeReport } from "./uptime.ts";

/** One script's period. */
export interface DigestScript {
  site: string;
  host: string;
  script: string;
  /** up / (up + down), 0..1; null when it was neither (idle or unknown throughout). */
  uptime: number | null;
  upMs: number;
  downMs: number;
  restarts: number;
}

/** One alert that fired in the period. */
export interface DigestIncident {
  rule: string;
  severity: string;
  title: string;
  site: string;
  host: string;
  script: string | null;
  firedAt: string;
  /** Null while it still fires. */
  resolvedAt: string | null;
  /** How long it lasted (until the period's end when still firing). */
  durationMs: number;
}

/** A token that needs someone now. */
export interface DigestToken {
  site: string;
  host: string;
  name: string;
  state: string;
  expiresAt: string | null;
}

/** The digest of `[since, until)`. */
export interface Digest {
  /** Null: every site. */
  site: string | null;
  since: number;
  until: number;
  /** Worst uptime first. */
  scripts: DigestScript[];
  /** Incidents (anomalies apart), longest first. */
  incidents: DigestIncident[];
  /** Anomaly alerts of the period, longest first. */
  anomalies: DigestIncident[];
  tokens: DigestToken[];
  notifications: { sent: number; failed: number; silenced: number };
}

/** Token states that need someone. */
const TOKEN_TROUBLE = new Set(["expiring", "expired", "invalid"]);
/** At most this many notifications are read for a period's counts. */
const MAX_MESSAGES = 100_000;

/** Builds the digest of `[since, until)` for `site` (or every site). */
export async function buildDigest(
  deps: { store: Store; outbox?: Pick<Outbox, "list"> },
  options: { site?: string; since: number; until: number },
): Promise<Digest> {
  const { store } = deps;
  const site = options.site;
  const [uptime, alerts, tokens] = await Promise.all([
    uptimeReport(store, options),
    store.alerts.list(site === undefined ? {} : { site }),
    store.agentTokens(site === undefined ? {} : { site }),
  ]);
  const scripts = uptime.map((row) => ({
    site: row.site,
    host: row.host,
    script: row.script,
    uptime: row.ratio,
    upMs: row.upMs,
    downMs: row.downMs,
    restarts: row.restarts,
  })).sort((a, b) => (a.uptime ?? 2) - (b.uptime ?? 2) || b.restarts - a.restarts);
  const inPeriod = alerts.filter((a) => {
    const fired = Date.parse(a.firedAt);
    const resolved = a.resolvedAt === null ? Infinity : Date.parse(a.resolvedAt);
    return fired < options.until && resolved >= options.since;
  }).map((a): DigestIncident => {
    const end = a.resolvedAt === null
      ? options.until
      : Math.min(Date.parse(a.resolvedAt), options.until);
    return {
      rule: a.rule,
      severity: a.severity,
      title: a.title,
      site: a.site,
      host: a.host,
      script: a.script,
      firedAt: a.firedAt,
      resolvedAt: a.resolvedAt,
      durationMs: Math.max(0, end - Math.max(Date.parse(a.firedAt), options.since)),
    };
  }).sort((a, b) => b.durationMs - a.durationMs);
  const notifications = { sent: 0, failed: 0, silenced: 0 };
  if (deps.outbox !== undefined) {
    const messages = await deps.outbox.list({
      since: new Date(options.since).toISOString(),
      limit: MAX_MESSAGES,
    });
    for (const message of messages) {
      if (Date.parse(message.createdAt) >= options.until) continue;
      // A site's digest counts the alerts about it (reports and tests name no site).
      if (site !== undefined) {
        if (message.payload.type !== "alert" || message.payload.alert.site !== site) continue;
      }
      if (message.state === "sent") notifications.sent++;
      else if (message.state === "failed" || message.state === "dead-lettered") {
        notifications.failed++;
      } else if (message.state === "silenced") notifications.silenced++;
    }
  }
  return {
    site: site ?? null,
    since: options.since,
    until: options.until,
    scripts,
    incidents: inPeriod.filter((i) => i.rule !== "anomaly"),
    anomalies: inPeriod.filter((i) => i.rule === "anomaly"),
    tokens: tokens.flatMap((agent) =>
      agent.tokens.filter((t) => TOKEN_TROUBLE.has(t.state)).map((t) => ({
        site: agent.site,
        host: agent.host,
        name: t.name,
        state: t.state,
        expiresAt: t.expiresAt,
      }))
    ),
    notifications,
  };
}

/** The digest as a message: a few lines a person reads in a chat channel or an email. */
export function digestText(digest: Digest, options: { title: string; link?: string }): string {
  const percent = (ratio: number | null) => ratio === null ? "-" : formatRatio(ratio);
  const judged = digest.scripts.filter((s) => s.uptime !== null);
  const up = judged.reduce((sum, s) => sum + s.upMs, 0);
  const down = judged.reduce((sum, s) => sum + s.downMs, 0);
  const restarts = digest.scripts.reduce((sum, s) => sum + s.restarts, 0);
  const lines = [
    options.title,
    `Uptime ${percent(up + down === 0 ? null : up / (up + down))} over ${
      plural(digest.scripts.length, "script")
    }; ${plural(restarts, "restart")}; ${plural(digest.incidents.length, "incident")}; ${
      plural(digest.anomalies.length, "anomaly", "anomalies")
    }.`,
  ];
  const worst = judged.filter((s) => (s.uptime ?? 1) < 1).slice(0, 5);
  if (worst.length > 0) {
    lines.push("Lowest uptime:");
    for (const s of worst) {
      lines.push(
        `- ${s.script} on ${s.host} (${s.site}): ${percent(s.uptime)}, down ${
          formatDuration(s.downMs)
        }, ${plural(s.restarts, "restart")}`,
      );
    }
  }
  if (digest.incidents.length > 0) {
    lines.push("Longest incidents:");
    for (const i of digest.incidents.slice(0, 5)) {
      const still = i.resolvedAt === null ? ", still open" : "";
      lines.push(`- ${i.title}: ${formatDuration(i.durationMs)}${still}`);
    }
  }
  if (digest.tokens.length > 0) {
    lines.push("Tokens:");
    for (const t of digest.tokens.slice(0, 10)) {
      const when = t.expiresAt === null ? "" : ` (${t.expiresAt})`;
      lines.push(`- ${t.name} on ${t.host} (${t.site}): ${t.state}${when}`);
    }
  }
  const n = digest.notifications;
  lines.push(`Notifications: ${n.sent} sent, ${n.failed} failed, ${n.silenced} silenced.`);
  if (options.link !== undefined) lines.push(options.link);
  return lines.join("\n");
}
